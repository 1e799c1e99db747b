"""The need lifecycle: which status changes are allowed, and what a refusal says."""

from __future__ import annotations

import itertools

import pytest

from matching.errors import TechMatchError
from matching.lifecycle import NEED_TRANSITIONS, InvalidTransition, check_need_transition
from matching.vocab import NeedStatus

S = NeedStatus
OPEN = (S.DRAFT, S.SUBMITTED, S.UNDER_EVALUATION, S.PUBLISHED, S.MATCHED)

# The lifecycle as the domain describes it: forward along the main path, back one step where a
# reviewer or enterprise may undo, withdrawn from any open state, and a withdrawn need restarts.
ALLOWED: set[tuple[NeedStatus, NeedStatus]] = {
    (S.DRAFT, S.SUBMITTED),
    (S.SUBMITTED, S.DRAFT),
    (S.SUBMITTED, S.UNDER_EVALUATION),
    (S.SUBMITTED, S.PUBLISHED),
    (S.UNDER_EVALUATION, S.SUBMITTED),
    (S.UNDER_EVALUATION, S.PUBLISHED),
    (S.PUBLISHED, S.MATCHED),
    (S.PUBLISHED, S.CLOSED),
    (S.MATCHED, S.PUBLISHED),
    (S.MATCHED, S.SIGNED),
    (S.MATCHED, S.CLOSED),
    (S.SIGNED, S.CLOSED),
    (S.WITHDRAWN, S.DRAFT),
    (S.WITHDRAWN, S.SUBMITTED),
} | {(status, S.WITHDRAWN) for status in OPEN}

ALL_PAIRS = list(itertools.product(NeedStatus, repeat=2))


def _pair_id(pair: tuple[NeedStatus, NeedStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.mark.parametrize(
    "pair", [p for p in ALL_PAIRS if p in ALLOWED or p[0] == p[1]], ids=_pair_id
)
def test_allowed_changes_pass(pair: tuple[NeedStatus, NeedStatus]) -> None:
    check_need_transition(pair[0].value, pair[1].value)


@pytest.mark.parametrize(
    "pair", [p for p in ALL_PAIRS if p not in ALLOWED and p[0] != p[1]], ids=_pair_id
)
def test_forbidden_changes_raise(pair: tuple[NeedStatus, NeedStatus]) -> None:
    with pytest.raises(InvalidTransition):
        check_need_transition(pair[0].value, pair[1].value)


def test_the_table_names_every_status() -> None:
    assert set(NEED_TRANSITIONS) == set(NeedStatus)


def test_the_main_path_is_allowed_step_by_step() -> None:
    path = [S.DRAFT, S.SUBMITTED, S.UNDER_EVALUATION, S.PUBLISHED, S.MATCHED, S.SIGNED, S.CLOSED]
    for before, after in itertools.pairwise(path):
        check_need_transition(before, after)


@pytest.mark.parametrize("status", OPEN, ids=str)
def test_every_open_need_can_be_withdrawn(status: NeedStatus) -> None:
    check_need_transition(status, S.WITHDRAWN)


@pytest.mark.parametrize("status", [S.SIGNED, S.CLOSED], ids=str)
def test_a_signed_or_closed_need_cannot_be_withdrawn(status: NeedStatus) -> None:
    with pytest.raises(InvalidTransition):
        check_need_transition(status, S.WITHDRAWN)


@pytest.mark.parametrize("target", [s for s in NeedStatus if s is not S.CLOSED], ids=str)
def test_closed_is_terminal(target: NeedStatus) -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_need_transition("closed", target.value)
    assert str(caught.value).endswith("；可改为：无（已是终态）")


def test_refusal_names_both_states_and_lists_the_allowed_ones_in_order() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_need_transition("draft", "published")
    assert str(caught.value) == "状态不能从「草稿」改为「已发布」；可改为：已提交、已撤回"


def test_refusal_from_matched_lists_its_four_ways_out() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_need_transition("matched", "draft")
    assert str(caught.value) == (
        "状态不能从「已对接」改为「草稿」；可改为：已发布、已签约、已关闭、已撤回"
    )


def test_refusal_from_closed_says_it_is_final() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_need_transition("closed", "published")
    assert str(caught.value) == "状态不能从「已关闭」改为「已发布」；可改为：无（已是终态）"


def test_invalid_transition_is_a_domain_error() -> None:
    assert issubclass(InvalidTransition, TechMatchError)


@pytest.mark.parametrize(("current", "new"), [("draft", "archived"), ("草稿", "submitted")])
def test_an_unknown_status_is_a_value_error(current: str, new: str) -> None:
    with pytest.raises(ValueError):
        check_need_transition(current, new)
