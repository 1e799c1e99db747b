"""Which matchable records changed in the store since the last look, whoever wrote them.

A running service refreshes its indexes for the writes it makes itself. Writes from elsewhere
(``techmatch import`` beside the service, a second service process, a restore) reach the store
only; the change log (one row per write of a tracked entity, see ``store/history.py``) is how
the service learns of them.

``ChangeFeed.changes()`` reads the entries added after the last look. Ids of the change log are
handed out when a row is inserted, not when its transaction commits: on PostgreSQL a long
transaction can commit entries with ids below ones already seen. The feed therefore also keeps
the number of entries; when the count grew by more than the entries it read, some arrived out
of order and it answers ``None``: "unknown, compare everything".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from matching.corpus import CorpusKind
from matching.store.database import Database
from matching.store.models import ChangeRecord

__all__ = ["CORPUS_OF_ENTITY", "ChangeFeed", "ChangeMark"]

CORPUS_OF_ENTITY: dict[str, CorpusKind] = {
    "need": "needs",
    "result": "results",
    "expert": "experts",
}


@dataclass(frozen=True)
class ChangeMark:
    """How far the change log had been read: the highest entry id seen and the entry count."""

    last_id: int
    count: int


class ChangeFeed:
    """Reads the change log forward from a mark taken at construction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.mark = self._current()

    def _current(self) -> ChangeMark:
        with self.database.session() as session:
            last_id, count = session.execute(
                select(func.coalesce(func.max(ChangeRecord.id), 0), func.count(ChangeRecord.id))
            ).one()
        return ChangeMark(int(last_id), int(count))

    def changes(self) -> dict[CorpusKind, set[int]] | None:
        """Ids of needs, results and experts written since the last call (or construction),
        by corpus; ``None`` when entries arrived out of order (or the log shrank, as after a
        restore), so that only a full comparison with the store is safe."""
        with self.database.session() as session:
            count = int(session.scalar(select(func.count(ChangeRecord.id))) or 0)
            if count == self.mark.count:
                # Nothing new committed since the mark (the count would have grown).
                return {}
            entries = session.execute(
                select(ChangeRecord.id, ChangeRecord.entity_type, ChangeRecord.entity_id).where(
                    ChangeRecord.id > self.mark.last_id
                )
            ).all()
        changed: dict[CorpusKind, set[int]] = {}
        for _entry_id, entity_type, entity_id in entries:
            kind = CORPUS_OF_ENTITY.get(entity_type)
            if kind is not None:
                changed.setdefault(kind, set()).add(int(entity_id))
        in_order = count - self.mark.count == len(entries)
        last_id = max((int(entry[0]) for entry in entries), default=self.mark.last_id)
        self.mark = ChangeMark(last_id, count)
        return changed if in_order else None
