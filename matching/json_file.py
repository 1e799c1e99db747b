"""Reading a JSON file that a person supplied, with errors that say what is wrong and where."""

from __future__ import annotations

import json
from pathlib import Path

from matching.errors import TechMatchError

__all__ = ["read_json_file"]


def read_json_file(path: Path | str, error: type[TechMatchError]) -> object:
    """The parsed JSON document in ``path``; ``error`` (Chinese message) when the file is
    missing, unreadable or not valid JSON."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as cause:
        raise error(f"找不到实例文件：{path}") from cause
    except (OSError, UnicodeDecodeError) as cause:
        raise error(f"无法读取实例文件 {path}：{cause}") from cause
    try:
        return json.loads(text)
    except json.JSONDecodeError as cause:
        raise error(
            f"实例文件 {path} 不是有效的 JSON：第 {cause.lineno} 行第 {cause.colno} 列，{cause.msg}"
        ) from cause
