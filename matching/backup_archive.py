"""The backup file: a tar archive with ``manifest.json`` first, then the store dump and the
ranking models, each member listed in the manifest with its SHA-256.

Reading checks everything (format version, member names, sizes, checksums) while extracting
into a scratch folder, so a damaged or tampered file is refused before anything is replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matching.errors import TechMatchError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "BackupError",
    "BackupManifest",
    "read_archive",
    "sha256_file",
    "write_archive",
]

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
STORE_MEMBERS = {"sqlite": "store.sqlite", "postgresql": "store.pgdump"}
_MEMBER = re.compile(r"^(store\.sqlite|store\.pgdump|ranker/[A-Za-z0-9][A-Za-z0-9._-]*)$")
_CHUNK = 1 << 20


class BackupError(TechMatchError):
    """A backup cannot be written, read, verified or restored."""


@dataclass
class BackupManifest:
    """What a backup holds: format, when, which backend and schema revision, the store's
    counts at the moment of the snapshot, and each member's SHA-256 and size (bytes)."""

    backend: str
    schema_revision: str | None
    counts: dict[str, int]
    created_at: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def store_member(self) -> str:
        return STORE_MEMBERS[self.backend]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "created_at": self.created_at,
            "backend": self.backend,
            "schema_revision": self.schema_revision,
            "counts": self.counts,
            "members": self.members,
        }

    @classmethod
    def from_dict(cls, data: Any) -> BackupManifest:
        try:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise BackupError(
                    f"备份格式版本 {version} 不受支持（本程序支持版本 {FORMAT_VERSION}）"
                )
            manifest = cls(
                backend=str(data["backend"]),
                schema_revision=data["schema_revision"],
                counts={str(k): int(v) for k, v in data["counts"].items()},
                created_at=str(data["created_at"]),
                members={
                    str(name): {"sha256": str(m["sha256"]), "size": int(m["size"])}
                    for name, m in data["members"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BackupError(f"备份清单 manifest.json 格式有误：{error!r}") from None
        if manifest.backend not in STORE_MEMBERS:
            raise BackupError(f"备份清单中的数据库类型「{manifest.backend}」不受支持")
        bad = [name for name in manifest.members if not _MEMBER.match(name)]
        if bad or manifest.store_member not in manifest.members:
            raise BackupError(f"备份清单列出的文件不合规：{bad or '缺少数据库文件'}")
        return manifest


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_archive(target: Path, manifest: BackupManifest, files: dict[str, Path]) -> None:
    """Write ``files`` (member name → path) and the manifest (checksums filled in) to the tar
    file ``target`` (the caller makes that path temporary and renames it)."""
    for name, path in files.items():
        manifest.members[name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    encoded = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(encoded)
        info.mtime = int(_timestamp(manifest.created_at))
        archive.addfile(info, io.BytesIO(encoded))
        for name, path in files.items():
            archive.add(path, arcname=name, recursive=False)


def _timestamp(created_at: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(created_at).timestamp()


def read_archive(source: Path, scratch: Path) -> BackupManifest:
    """Verify ``source`` and extract its members under ``scratch`` (``store.sqlite``,
    ``ranker/...``); raise :class:`BackupError` on any mismatch (``scratch`` then holds
    partial files the caller removes)."""
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}")
    try:
        with tarfile.open(source, "r:") as archive:
            manifest = _read_manifest(archive, source)
            seen = _extract_members(archive, manifest, scratch)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(
            f"无法读取备份文件 {source}（已损坏、不完整或不是备份）：{error}"
        ) from None
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupError(f"备份文件不完整，缺少：{', '.join(missing)}")
    return manifest


def _read_manifest(archive: tarfile.TarFile, source: Path) -> BackupManifest:
    first = archive.next()
    if first is None or first.name != MANIFEST_NAME or not first.isfile():
        raise BackupError(f"{source} 不是 TechMatch 备份：缺少 manifest.json")
    handle = archive.extractfile(first)
    assert handle is not None
    try:
        return BackupManifest.from_dict(json.loads(handle.read().decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"备份清单 manifest.json 无法解析：{error}") from None


def _extract_members(archive: tarfile.TarFile, manifest: BackupManifest, scratch: Path) -> set[str]:
    seen: set[str] = set()
    while (member := archive.next()) is not None:
        expected = manifest.members.get(member.name)
        if expected is None or not member.isfile() or member.name in seen:
            raise BackupError(f"备份文件中有清单之外或重复的条目「{member.name}」，拒绝恢复")
        if member.size != expected["size"]:
            raise BackupError(f"「{member.name}」大小与清单不符，备份文件可能已被改动")
        target = scratch / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        source = archive.extractfile(member)
        assert source is not None
        with source, open(target, "wb") as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected["sha256"]:
            raise BackupError(
                f"「{member.name}」的 SHA-256 校验和与清单不符，备份文件已损坏或被改动，"
                "未做任何恢复"
            )
        seen.add(member.name)
    return seen
