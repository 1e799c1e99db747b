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
from service.commands.backup import backup, reindex, restore
from service.commands.bench import bench_app
from service.commands.feedback import feedback_app
from service.commands.match import match_app
from service.commands.progress import index_progress, row_progress
from service.commands.ranker import ranker_app
from service.commands.schedule import schedule
from service.commands.users import apikey_app, user_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="TechMatch 科技供需对接：企业技术需求、科技成果与专家的匹配。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="数据库迁移 (Alembic)。", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(bench_app, name="bench")
app.add_typer(match_app, name="match")
app.add_typer(ranker_app, name="ranker")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(feedback_app, name="feedback")
app.command("assign")(assign)
app.command("schedule")(schedule)
app.command("backup")(backup)
app.command("restore")(restore)
app.command("reindex")(reindex)


class Entity(StrEnum):
    needs = "needs"
    results = "results"
    experts = "experts"


def _database(settings: Settings) -> Database:
    return Database(settings.resolved_database_url)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _first_admin(settings: Settings, database: Database) -> None:
    """In development, a store without accounts gets an ``admin`` with a random password,
    printed once and kept in ``<data_dir>/initial-admin-password.txt`` (owner-only). In
    production nobody is created: use ``techmatch user create``."""
    import os
    import secrets

    from sqlalchemy import func, select

    from matching.accounts import create_user
    from matching.store.models import User

    if settings.environment != "development":
        return
    with database.session("setup") as session:
        if session.scalar(select(func.count()).select_from(User)):
            return
        password = f"{secrets.token_urlsafe(12)}7a"
        create_user(session, "admin", password, "admin", display_name="管理员")
    path = settings.data_dir / "initial-admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"admin\n{password}\n")
    typer.echo(
        f"已创建管理员账号 admin，初始密码 {password}（也保存在 {path}；"
        "登录后请用 techmatch user passwd admin 修改）"
    )


def setup_store(settings: Settings) -> Database:
    """Migrate the store and load the demo data into an empty store."""
    database = _database(settings)
    database.upgrade()
    counts = database.counts()
    if settings.load_demo and counts["needs"] + counts["results"] + counts["experts"] == 0:
        for report in load_demo(database, settings.demo_dir, settings):
            typer.echo(report.summary().splitlines()[1])
    _first_admin(settings, database)
    return database


def open_engine(settings: Settings, database: Database) -> Any:
    """Load the encoder and load, catch up or build the indexes of every corpus."""
    from matching.engine import MatchingEngine

    engine = MatchingEngine(database, settings)
    with index_progress() as progress:
        reports = engine.open(progress)
    for report in reports:
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
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="服务进程数（默认 TECHMATCH_WORKERS；每个进程用一个核）"),
    ] = None,
    do_setup: Annotated[bool, typer.Option("--setup/--no-setup", help="启动前执行 setup")] = True,
) -> None:
    """Start the web service (API docs at /docs)."""
    import uvicorn

    from service.app import create_app

    settings = Settings()
    workers = workers or settings.workers
    try:
        database = setup_store(settings) if do_setup else _database(settings)
        engine = open_engine(settings, database)
    except TechMatchError as error:
        raise _fail(str(error)) from error
    host, port = host or settings.host, port or settings.port
    typer.echo(f"TechMatch {__version__}: http://{host}:{port}  (API 文档 /docs)")
    if workers == 1:
        uvicorn.run(create_app(settings, database, engine), host=host, port=port, log_level="info")
        return
    # Several processes: the indexes are saved now, so that each worker loads them as they are
    # (service.worker_app), and this process only supervises.
    engine.save()
    del engine
    database.dispose()
    typer.echo(f"{workers} 个服务进程")
    uvicorn.run(
        "service.worker_app:create_worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_logging_with_process_ids(),
    )


def _logging_with_process_ids() -> dict[str, Any]:
    """uvicorn's logging, each line saying which worker process wrote it: ``[pid]``."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace(
            "%(levelprefix)s", "%(levelprefix)s [%(process)d]"
        )
    return config


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
        with row_progress("检查并导入" if not dry_run else "检查") as progress:
            report = import_file(
                database,
                entity.value,
                file,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                allow_duplicates=allow_duplicates,
                actor=actor,
                settings=settings,
                progress=progress,
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
    except LookupError as error:
        raise _fail(f"导出失败：不支持的编码「{encoding}」") from error
    except OSError as error:
        raise _fail(f"导出失败：无法写入 {file}：{error.strerror or error}") from error
    typer.echo(f"已导出 {count} 条到 {file}")


@app.command()
def template(
    entity: Annotated[Entity, typer.Argument(help="needs、results 或 experts")],
    file: Annotated[Path, typer.Argument(help="目标 .xlsx 文件")],
) -> None:
    """Write an empty XLSX import template (header, example row, drop-downs, help sheet)."""
    try:
        write_template(entity.value, file)
    except OSError as error:
        raise _fail(f"无法写入 {file}：{error.strerror or error}") from error
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


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``techmatch`` script."""
    app(prog_name="techmatch")


if __name__ == "__main__":
    main()
