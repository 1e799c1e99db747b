"""Execute a notebook in place (``python -m matching.benchmarks.notebook FILE``), as ``make
bench`` does for ``notebooks/ranking.ipynb``; its outputs are then committed."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

__all__ = ["execute"]


def execute(path: Path, timeout: int = 3600) -> None:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": "."}}
    ).execute()
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    for name in sys.argv[1:]:
        execute(Path(name))
        print(f"executed {name}")
