"""``techmatch backup FILE``, ``techmatch restore FILE [--force]``, ``techmatch reindex``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from matching.backup import BackupReport, backup_store, remove_indexes, restore_store
from matching.config import Settings
from matching.errors import TechMatchError
from matching.store.database import Database

__all__ = ["backup", "reindex", "restore"]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _describe(report: BackupReport) -> str:
    manifest = report.manifest
    counts = "，".join(f"{name} {count}" for name, count in manifest.counts.items())
    models = sum(name.startswith("ranker/") for name in manifest.members)
    return (
        f"{manifest.backend} 数据库（版本 {manifest.schema_revision}，{counts}），"
        f"排序模型文件 {models} 个，{report.size / 1e6:.1f} MB，用时 {report.seconds:.1f} 秒"
    )


def backup(
    file: Annotated[Path, typer.Argument(help="备份文件（.tar），已存在则替换")],
) -> None:
    """Back up the store and the ranking models to one file (safe while the service runs)."""
    settings = Settings()
    database = Database(settings.resolved_database_url)
    try:
        report = backup_store(database, settings, file)
    except TechMatchError as error:
        raise _fail(f"备份失败：{error}") from error
    except SQLAlchemyError as error:
        raise _fail(f"备份失败：无法读取数据库：{_first_line(error)}") from error
    except OSError as error:
        raise _fail(f"备份失败：无法写入 {file}：{error.strerror or error}") from error
    typer.echo(f"已备份到 {file}：{_describe(report)}")


def restore(
    file: Annotated[Path, typer.Argument(help="techmatch backup 生成的备份文件")],
    force: Annotated[bool, typer.Option("--force", help="覆盖非空的数据库")] = False,
) -> None:
    """Restore a backup (verified first); then run `techmatch reindex` or start the service."""
    settings = Settings()
    database = Database(settings.resolved_database_url)
    try:
        report = restore_store(database, settings, file, force=force)
    except TechMatchError as error:
        raise _fail(f"恢复失败：{error}") from error
    except SQLAlchemyError as error:
        raise _fail(f"恢复失败：无法访问数据库：{_first_line(error)}") from error
    typer.echo(f"已从 {file} 恢复（备份时间 {report.manifest.created_at}）：{_describe(report)}")
    typer.echo(
        f"数据库已迁移到 {database.current_revision()}；索引已删除，请运行 techmatch reindex"
    )


def reindex() -> None:
    """Delete the saved vector indexes and rebuild every index from the store."""
    from service.cli import open_engine

    settings = Settings()
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        removed = remove_indexes(settings)
        typer.echo(f"已删除旧索引文件 {removed} 个")
        open_engine(settings, database)
    except TechMatchError as error:
        raise _fail(f"重建索引失败：{error}") from error
    typer.echo(f"索引已重建：{dict(database.counts())}")
