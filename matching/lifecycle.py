"""The status lifecycle of a need: draft → submitted → under evaluation → published → matched →
signed → closed, and withdrawn from any open state."""

from __future__ import annotations

from matching.errors import TechMatchError
from matching.vocab import NeedStatus, label_of

__all__ = ["NEED_TRANSITIONS", "InvalidTransition", "check_need_transition"]

_S = NeedStatus
NEED_TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    _S.DRAFT: frozenset({_S.SUBMITTED, _S.WITHDRAWN}),
    _S.SUBMITTED: frozenset({_S.DRAFT, _S.UNDER_EVALUATION, _S.PUBLISHED, _S.WITHDRAWN}),
    _S.UNDER_EVALUATION: frozenset({_S.SUBMITTED, _S.PUBLISHED, _S.WITHDRAWN}),
    _S.PUBLISHED: frozenset({_S.MATCHED, _S.CLOSED, _S.WITHDRAWN}),
    _S.MATCHED: frozenset({_S.PUBLISHED, _S.SIGNED, _S.CLOSED, _S.WITHDRAWN}),
    _S.SIGNED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
    _S.WITHDRAWN: frozenset({_S.DRAFT, _S.SUBMITTED}),
}


class InvalidTransition(TechMatchError):
    """A status change the lifecycle does not allow."""


def check_need_transition(current: str, new: str) -> None:
    """Raise ``InvalidTransition`` (Chinese message) unless ``current → new`` is allowed.

    Staying in the same status is always allowed.
    """
    before, after = NeedStatus(current), NeedStatus(new)
    if before == after or after in NEED_TRANSITIONS[before]:
        return
    allowed = "、".join(label_of(s) for s in NeedStatus if s in NEED_TRANSITIONS[before])
    allowed = allowed or "无（已是终态）"
    raise InvalidTransition(
        f"状态不能从「{label_of(before)}」改为「{label_of(after)}」；可改为：{allowed}"
    )
