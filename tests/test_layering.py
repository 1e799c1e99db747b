"""The library never imports web code; the public surface is what ``__all__`` says."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import matching
from tests.conftest import REPO


def _library_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(matching.__path__, "matching.")
        if ".migrations" not in info.name
    ]


def test_matching_imports_no_web_framework() -> None:
    modules = _library_modules()
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'service'))\nprint(','.join(bad))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == ""


def test_every_public_module_lists_its_surface() -> None:
    for name in _library_modules():
        module = importlib.import_module(name)
        if name.endswith("__init__") or not hasattr(module, "__file__"):
            continue
        if getattr(module, "__path__", None) is not None and name != "matching":
            continue
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        assert all(hasattr(module, symbol) for symbol in exported), name
