"""Progress bars for long CLI work (import, index build): a ``rich`` bar on standard error when
it is a terminal; nothing otherwise, so that piped output and logs (and ``--json``) stay as
they were. The command's own result lines are printed as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["CORPUS_LABELS", "index_progress", "row_progress"]

CORPUS_LABELS = {"needs": "需求", "results": "成果", "experts": "专家"}


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _terminal() -> Console | None:
    console = Console(stderr=True)
    return console if console.is_terminal else None


@contextmanager
def row_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback that moves one bar (a no-op off a terminal)."""
    console = _terminal()
    if console is None:
        yield lambda done, total: None
        return
    with _bar(console) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def index_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(kind, embedded, total)`` callback for ``MatchingEngine.open``: one bar per
    corpus that needs embedding (a no-op off a terminal)."""
    console = _terminal()
    if console is None:
        yield lambda kind, done, total: None
        return
    with _bar(console) as bar:
        tasks: dict[str, TaskID] = {}

        def update(kind: str, done: int, total: int) -> None:
            if total == 0:
                return
            if kind not in tasks:
                label = CORPUS_LABELS.get(kind, kind)
                tasks[kind] = bar.add_task(f"嵌入{label}文本", total=total)
            bar.update(tasks[kind], completed=done, total=total)

        yield update
