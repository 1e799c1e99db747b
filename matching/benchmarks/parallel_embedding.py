"""Corpus embedding throughput in 1 and N worker processes (``python -m`` this module).

The demo's results and needs (title + description), the first ``count`` texts; for each number
of workers, a pool is started once on as many texts as workers (its start-up: loading and
checking the model) and once on all texts in chunks. Wall times, and the workers' CPU seconds.
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from matching.config import Settings
from matching.parallel_embed import embed_parallel

__all__ = ["ParallelRun", "demo_texts", "parallel_embedding"]

_FILES = (("results.csv", "成果名称", "成果简介"), ("needs.csv", "需求名称", "需求描述"))


@dataclass(frozen=True)
class ParallelRun:
    """One measurement: ``texts`` embedded by ``workers`` processes (seconds)."""

    workers: int
    texts: int
    startup_seconds: float
    wall_seconds: float
    worker_cpu_seconds: float
    startup_cpu_seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.wall_seconds

    @property
    def texts_per_cpu_second(self) -> float:
        """Texts per worker CPU-second, the pool's start-up left out."""
        return self.texts / max(self.worker_cpu_seconds - self.startup_cpu_seconds, 1e-9)


def demo_texts(demo_dir: Path, count: int) -> list[str]:
    """The first ``count`` demo texts: results, then needs, each "title。description"."""
    texts: list[str] = []
    for name, title, body in _FILES:
        with open(demo_dir / name, encoding="utf-8", newline="") as handle:
            texts += [f"{row[title]}。{row[body]}" for row in csv.DictReader(handle)]
    return texts[:count]


def parallel_embedding(
    texts: list[str], settings: Settings, workers: tuple[int, ...] = (1, 2), chunk_size: int = 25
) -> list[ParallelRun]:
    """Measure :func:`embed_parallel` on ``texts`` for each number of ``workers``."""
    runs = []
    for count in workers:
        cpu, wall = _children_cpu(), time.perf_counter()
        embed_parallel(texts[:count], settings, workers=count, chunk_size=1)
        startup_cpu, startup = _children_cpu() - cpu, time.perf_counter() - wall
        cpu, wall = _children_cpu(), time.perf_counter()
        embed_parallel(texts, settings, workers=count, chunk_size=chunk_size)
        used, elapsed = _children_cpu() - cpu, time.perf_counter() - wall
        runs.append(ParallelRun(count, len(texts), startup, elapsed, used, startup_cpu))
    return runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--demo-dir", type=Path, default=Path("data/demo"))
    args = parser.parse_args()
    settings = Settings()
    texts = demo_texts(args.demo_dir, args.count)
    mean = sum(map(len, texts)) / max(len(texts), 1)
    print(f"{len(texts)} texts, mean {mean:.0f} characters, encoder {settings.encoder}")
    print("| workers | start-up s | wall s | texts/s | worker CPU s | texts per CPU-s |")
    print("|---|---|---|---|---|---|")
    workers = tuple(int(part) for part in args.workers.split(","))
    for run in parallel_embedding(texts, settings, workers):
        print(
            f"| {run.workers} | {run.startup_seconds:.1f} | {run.wall_seconds:.1f} | "
            f"{run.texts_per_second:.1f} | {run.worker_cpu_seconds:.1f} | "
            f"{run.texts_per_cpu_second:.1f} |"
        )


if __name__ == "__main__":
    main()
