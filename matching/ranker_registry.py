"""Saved ranking models: every trained version kept with its facts, one of them active.

Layout of the folder (``<data_dir>/ranker``): ``v0001.joblib``, ``v0002.joblib``, … (joblib
dumps of ``{"model": MatchRanker, "card": {...}}``) and ``state.json`` with the active version
and the activation history. Every write goes to a temp file and is renamed into place, so a
crash leaves the previous state. Rollback re-activates the version active before the current
one; rolling back the first version returns to the cold start (fusion order).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from matching.atomic import atomic_path
from matching.errors import TechMatchError
from matching.ranker import MatchRanker
from matching.ranking_features import FEATURE_NAMES

__all__ = ["RankerError", "RankerRegistry", "TrainedRanker"]

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^v(\d{4,})\.joblib$")


class RankerError(TechMatchError):
    """A ranking model cannot be saved, loaded, activated or rolled back."""


@dataclass(frozen=True)
class TrainedRanker:
    """A loaded model and its card: version, trained_at, features, training data summary and
    the held-out comparison that let it become active."""

    version: str
    model: MatchRanker
    card: dict[str, Any]

    @property
    def label(self) -> str:
        """How a match list names the model that ordered it."""
        return f"ranker {self.version}（梯度提升树，{self.card.get('trained_at', '')[:10]} 训练）"


class RankerRegistry:
    """The versions in one folder and which one is active."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    @property
    def _state_path(self) -> Path:
        return self.folder / "state.json"

    def _state(self) -> dict[str, Any]:
        if not self._state_path.exists():
            return {"active": None, "history": []}
        try:
            state: dict[str, Any] = json.loads(self._state_path.read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise RankerError(f"排序模型状态文件 {self._state_path} 无法读取：{error}") from None
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        with atomic_path(self._state_path) as temp:
            temp.write_text(json.dumps(state, ensure_ascii=False, indent=1), "utf-8")

    def versions(self) -> list[str]:
        """Saved versions, oldest first."""
        if not self.folder.exists():
            return []
        found = sorted(
            (int(m.group(1)), path.stem)
            for path in self.folder.iterdir()
            if (m := _VERSION.match(path.name))
        )
        return [stem for _, stem in found]

    def save(self, model: MatchRanker, card: dict[str, Any], activate: bool) -> str:
        """Store a new version (and make it active when ``activate``); returns its name."""
        with self._lock:
            existing = self.versions()
            number = int(existing[-1][1:]) + 1 if existing else 1
            version = f"v{number:04d}"
            card = {**card, "version": version, "features": list(FEATURE_NAMES)}
            with atomic_path(self.folder / f"{version}.joblib") as temp:
                joblib.dump({"model": model, "card": card}, temp)
            if activate:
                state = self._state()
                state["history"] = [*state.get("history", []), version]
                state["active"] = version
                self._write_state(state)
            return version

    def load(self, version: str) -> TrainedRanker:
        path = self.folder / f"{version}.joblib"
        if not _VERSION.match(path.name) or not path.exists():
            raise RankerError(f"没有排序模型版本「{version}」")
        try:
            saved = joblib.load(path)
            model, card = saved["model"], saved["card"]
        except Exception as error:  # any unreadable file is the same problem
            raise RankerError(f"排序模型文件 {path} 无法读取：{error}") from None
        if not isinstance(model, MatchRanker) or card.get("features") != FEATURE_NAMES:
            raise RankerError(
                f"排序模型 {version} 的特征与当前版本不一致，请重新训练（techmatch ranker train）"
            )
        return TrainedRanker(version, model, card)

    def state_stamp(self) -> int:
        """Changes whenever the active version changes (training, rollback, another process)."""
        try:
            return self._state_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def active_version(self) -> str | None:
        active = self._state().get("active")
        return str(active) if active else None

    def load_active(self) -> TrainedRanker | None:
        """The active model, or None at cold start. A damaged or outdated active model is
        logged and treated as no model (the fusion order still answers)."""
        version = self.active_version()
        if version is None:
            return None
        try:
            return self.load(version)
        except RankerError as error:
            log.error("%s; falling back to the fusion order", error)
            return None

    def rollback(self) -> str | None:
        """Re-activate the previously active version; returns it (None: back to fusion)."""
        with self._lock:
            state = self._state()
            history = list(state.get("history", []))
            if not history:
                raise RankerError("当前没有启用的排序模型，无可回滚")
            history.pop()
            state["history"] = history
            state["active"] = history[-1] if history else None
            self._write_state(state)
            return state["active"]  # type: ignore[no-any-return]

    def status(self) -> dict[str, Any]:
        """The active version's card and every saved version with its headline figures."""
        active = self.active_version()
        versions: list[dict[str, Any]] = []
        for version in self.versions():
            try:
                card = self.load(version).card
            except RankerError as error:
                versions.append({"version": version, "error": str(error)})
                continue
            versions.append(
                {
                    "version": version,
                    "trained_at": card.get("trained_at"),
                    "accepted": card.get("accepted"),
                    "holdout": card.get("holdout"),
                    "training_data": card.get("training_data"),
                    "active": version == active,
                }
            )
        listed = next((v for v in versions if v.get("active")), None)
        active_card = None
        if active is not None and listed is not None and "error" not in listed:
            active_card = self.load(active).card
        return {
            "active": active,
            "ranker": "fusion (cold start)" if active is None else active,
            "active_card": active_card,
            "history": self._state().get("history", []),
            "versions": versions,
        }
