"""Evaluation rounds in the store: rounds, items, pools, conflicts, assignment, withdrawal,
forms and progress (``matching.committee*``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from matching.committee import (
    InvalidRoundInput,
    RoundSpec,
    RoundStateError,
    conflict_reasons,
    create_round,
    policy_of,
    update_round,
)
from matching.committee_affinity import affinity_matrix, field_share
from matching.committee_assign import run_assignment, withdraw_expert
from matching.committee_forms import (
    Answers,
    NotAssigned,
    get_form,
    my_assignments,
    reopen_form,
    save_draft,
    submit_form,
)
from matching.committee_pool import ItemSpec, add_experts, add_items, set_override
from matching.committee_progress import progress
from matching.encode import Encoder
from matching.evaluation_form import InvalidResponse
from matching.store.database import Database
from matching.store.models import ChangeRecord, Expert, ReviewAssignment, RoundItem
from tests.matching.committee_data import SIMPLE_TEMPLATE, CommitteeStore, build_store


@pytest.fixture
def store(database: Database) -> CommitteeStore:
    return build_store(database)


def _round(database: Database, **overrides: Any) -> int:
    values: dict[str, Any] = {"name": "2026 年第一批需求评比", "template": SIMPLE_TEMPLATE}
    with database.session("test") as session:
        return create_round(session, RoundSpec(**(values | overrides))).id


def _fill(database: Database, round_id: int, store: CommitteeStore, experts: list[str]) -> None:
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", ref) for ref in ("XQ-001", "XQ-002")])
        add_items(session, round_id, [ItemSpec("need", store.needs["N3"])])
        add_items(session, round_id, [ItemSpec("need", "XQ-004")])
        add_experts(session, round_id, [store.experts[name] for name in experts])


def _pairs(database: Database, round_id: int) -> set[tuple[str, str]]:
    with database.session() as session:
        rows = session.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True)
            )
        )
        pairs = set()
        for row in rows:
            item = session.get(RoundItem, row.item_id)
            expert = session.get(Expert, row.expert_id)
            assert item is not None and item.need is not None and expert is not None
            pairs.add((item.need.external_ref, expert.external_ref))
        return pairs


def _item_ids(database: Database, round_id: int) -> dict[str, int]:
    with database.session() as session:
        items = session.scalars(select(RoundItem).where(RoundItem.round_id == round_id))
        return {item.need.external_ref: item.id for item in items if item.need is not None}


FULL = Answers(scores={"q": 8}, declared_no_conflict=True)


def test_create_round_defaults_and_refuses_bad_input(database: Database) -> None:
    with database.session("test") as session:
        view = create_round(session, RoundSpec(name="默认模板批次"), "user:wang")
        assert view.template_name == "企业技术需求评比" and view.status == "draft"
        assert view.reviewers_per_item == 5 and view.created_by == "user:wang"
        with pytest.raises(InvalidRoundInput) as caught:
            create_round(
                session,
                RoundSpec(name=" ", template={"name": "x", "criteria": []}, max_load=0),
            )
    fields = {error.field for error in caught.value.errors}
    assert {"name", "max_load", "template.criteria"} <= fields
    with pytest.raises(InvalidRoundInput, match="比例"):
        policy_of({"tiers": [{"name": "一等", "share": 0.8}, {"name": "二等", "share": 0.5}]})


def test_update_round_checks_counts_and_status(database: Database) -> None:
    round_id = _round(database)
    with database.session("test") as session:
        view = update_round(session, round_id, {"deadline": dt.date(2026, 12, 31), "max_load": 4})
        assert view.deadline == dt.date(2026, 12, 31) and view.max_load == 4
        with pytest.raises(InvalidRoundInput):
            update_round(session, round_id, {"status": "finished", "min_load": 9})


def test_conflicts_of_every_kind(database: Database, store: CommitteeStore) -> None:
    round_id = _round(database)
    with database.session("test") as session:
        add_items(
            session,
            round_id,
            [
                ItemSpec("need", "XQ-001"),
                ItemSpec("need", "XQ-002", co_applicants=("某材料研究院",)),
                ItemSpec("result", "CG-001"),
            ],
        )
        items = {
            (i.need or i.result).external_ref: i  # type: ignore[union-attr]
            for i in session.scalars(select(RoundItem).where(RoundItem.round_id == round_id))
        }
        experts = {e.external_ref: e for e in session.scalars(select(Expert))}
        reasons = conflict_reasons(items["XQ-001"], experts["ZJ-004"])
        assert reasons == ["专家声明回避「甲铜业有限公司」"]
        assert "同属「铜陵有色集团」" in conflict_reasons(items["XQ-001"], experts["ZJ-006"])[0]
        assert "同属「乙新材料有限公司」" in conflict_reasons(items["XQ-002"], experts["ZJ-003"])[0]
        assert (
            "共同申请单位「某材料研究院」"
            in conflict_reasons(items["XQ-002"], experts["ZJ-002"])[0]
        )
        result_reasons = conflict_reasons(items["CG-001"], experts["ZJ-001"])
        assert len(result_reasons) == 2 and "共同申请人或完成人" in result_reasons[1]
        assert conflict_reasons(items["XQ-001"], experts["ZJ-005"]) == []


def test_unknown_items_and_experts_are_named(database: Database, store: CommitteeStore) -> None:
    round_id = _round(database)
    with database.session("test") as session, pytest.raises(InvalidRoundInput) as caught:
        add_items(session, round_id, [ItemSpec("need", "XQ-001"), ItemSpec("result", "CG-999")])
    assert [e.field for e in caught.value.errors] == ["items[1]"]
    assert "CG-999" in caught.value.errors[0].message
    with database.session("test") as session, pytest.raises(InvalidRoundInput, match="ZJ-404"):
        add_experts(session, round_id, ["ZJ-001", "ZJ-404"])
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", "XQ-001")])
        assert len(add_items(session, round_id, [ItemSpec("need", "XQ-001")])) == 1


def test_assignment_respects_conflicts_loads_and_overrides(
    database: Database, store: CommitteeStore
) -> None:
    round_id = _round(database, reviewers_per_item=2, max_load=3)
    _fill(database, round_id, store, ["X2", "X3", "X4", "X5", "X6"])
    with database.session("test") as session:
        report = run_assignment(session, round_id, None)
    pairs = _pairs(database, round_id)
    forbidden = {("XQ-001", "ZJ-004"), ("XQ-001", "ZJ-006"), ("XQ-003", "ZJ-006")}
    forbidden |= {("XQ-002", "ZJ-003"), ("XQ-004", "ZJ-003")}
    assert not pairs & forbidden
    assert report.conflict_violations == 0 and report.limit_violations == 0
    assert report.n_pairs == len(pairs) == 8 and report.understaffed == []
    assert report.affinity_source == "fields" and report.n_conflicts == 5
    loads: dict[str, int] = {}
    for _, expert in pairs:
        loads[expert] = loads.get(expert, 0) + 1
    assert max(loads.values()) <= 3
    items = _item_ids(database, round_id)
    some = next(expert for need, expert in sorted(pairs) if need == "XQ-003")
    forced = next(e for e in ("ZJ-002", "ZJ-005") if ("XQ-003", e) not in pairs)
    with database.session("test") as session:
        by_ref = {e.external_ref: e.id for e in session.scalars(select(Expert))}
        # The forbidden expert had started a draft: forbidding wins and drops it.
        save_draft(session, round_id, items["XQ-003"], by_ref[some], Answers(scores={"q": 3}))
        set_override(session, round_id, items["XQ-003"], by_ref[some], "forbid", "回避")
        set_override(session, round_id, items["XQ-003"], by_ref[forced], "force")
        with pytest.raises(InvalidRoundInput, match="利益冲突"):
            set_override(session, round_id, items["XQ-001"], by_ref["ZJ-004"], "force")
        again = run_assignment(session, round_id, None)
    pairs = _pairs(database, round_id)
    assert ("XQ-003", some) not in pairs and ("XQ-003", forced) in pairs
    assert again.conflict_violations == 0 and again.removed >= 1
    with database.session() as session, pytest.raises(NotAssigned):
        get_form(session, round_id, items["XQ-003"], by_ref[some])


def test_understaffed_items_are_reported_with_reasons(
    database: Database, store: CommitteeStore
) -> None:
    round_id = _round(database, reviewers_per_item=2)
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", "XQ-001")])
        add_experts(session, round_id, [store.experts["X4"], store.experts["X6"]])
        add_experts(session, round_id, [store.experts["X5"]])
        report = run_assignment(session, round_id, None)
    assert [u.ref for u in report.understaffed] == ["XQ-001"]
    short = report.understaffed[0]
    assert short.assigned == 1 and short.required == 2 and "2 位专家因利益冲突回避" in short.reason


def test_withdrawal_keeps_submitted_forms_and_restaffs(
    database: Database, store: CommitteeStore
) -> None:
    round_id = _round(database, reviewers_per_item=2, max_load=4)
    _fill(database, round_id, store, ["X2", "X4", "X5"])
    with database.session("test") as session:
        run_assignment(session, round_id, None)
    items = _item_ids(database, round_id)
    x5 = store.experts["X5"]
    mine = sorted(need for need, expert in _pairs(database, round_id) if expert == "ZJ-005")
    assert len(mine) >= 2
    with database.session("x5") as session:
        submit_form(session, round_id, items[mine[0]], x5, FULL)
        save_draft(session, round_id, items[mine[1]], x5, Answers(scores={"q": 5}))
    with database.session("staff") as session:
        report = withdraw_expert(session, round_id, x5, "出差", None)
        with pytest.raises(RoundStateError, match="已退出"):
            withdraw_expert(session, round_id, x5, "again", None)
    pairs = _pairs(database, round_id)
    assert {need for need, expert in pairs if expert == "ZJ-005"} == {mine[0]}
    assert report.kept >= 1 and report.conflict_violations == 0
    with database.session("staff") as session:
        run_assignment(session, round_id, None)  # solving again keeps the submitted form
    assert _pairs(database, round_id) == pairs
    with database.session() as session:
        kept = get_form(session, round_id, items[mine[0]], x5)
        assert kept.status == "submitted" and kept.total == 80.0
        with pytest.raises(NotAssigned):
            get_form(session, round_id, items[mine[1]], x5)
        assert my_assignments(session, round_id, x5)[0].item.ref == mine[0]


def test_forms_validate_lock_and_reopen(database: Database, store: CommitteeStore) -> None:
    round_id = _round(database, reviewers_per_item=1)
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", "XQ-003")])
        add_experts(session, round_id, [store.experts["X5"], store.experts["X2"]])
        run_assignment(session, round_id, None)
    item = _item_ids(database, round_id)["XQ-003"]
    x5, x2 = store.experts["X5"], store.experts["X2"]
    (expert, other) = (x5, x2) if ("XQ-003", "ZJ-005") in _pairs(database, round_id) else (x2, x5)
    with database.session("e") as session:
        with pytest.raises(NotAssigned):
            save_draft(session, round_id, item, other, FULL)
        with pytest.raises(InvalidResponse) as caught:
            save_draft(session, round_id, item, expert, Answers(scores={"q": 11}))
        assert caught.value.errors[0].field == "scores.q"
        draft = save_draft(session, round_id, item, expert, Answers(scores={"q": 6.5}))
        assert draft.status == "draft" and draft.to_complete == [
            "提交前须声明是否存在利益冲突（回避声明）"
        ]
    with database.session("e") as session, pytest.raises(InvalidResponse, match="回避声明"):
        submit_form(session, round_id, item, expert)
    with database.session("e") as session:
        recusal = Answers(declared_no_conflict=False, conflict_reason="曾为该企业提供咨询")
        submitted = submit_form(session, round_id, item, expert, recusal)
        assert submitted.status == "submitted" and submitted.total is None
        with pytest.raises(RoundStateError, match="已提交"):
            save_draft(session, round_id, item, expert, FULL)
    with database.session("user:admin") as session:
        with pytest.raises(InvalidRoundInput):
            reopen_form(session, round_id, item, expert, " ")
        reopened = reopen_form(session, round_id, item, expert, "专家误填回避")
        assert reopened.status == "draft" and reopened.reopen_count == 1
    with database.session() as session:
        log = session.scalars(
            select(ChangeRecord).where(
                ChangeRecord.entity_type == "review_form", ChangeRecord.action == "update"
            )
        ).all()
    assert log[-1].actor == "user:admin"
    assert log[-1].changes["status"] == ["submitted", "draft"]
    assert log[-1].changes["reopen_reason"] == ["", "专家误填回避"]


def test_progress_counts_and_reminders(database: Database, store: CommitteeStore) -> None:
    round_id = _round(database, reviewers_per_item=1, deadline=dt.date(2026, 6, 30))
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", "XQ-003"), ItemSpec("need", "XQ-004")])
        add_experts(session, round_id, [store.experts["X5"]])
        run_assignment(session, round_id, None)
    items = _item_ids(database, round_id)
    x5 = store.experts["X5"]
    with database.session("x5") as session:
        submit_form(session, round_id, items["XQ-003"], x5, FULL)
    with database.session() as session:
        early = progress(session, round_id, dt.date(2026, 6, 1))
        late = progress(session, round_id, dt.date(2026, 6, 29), remind_within_days=3)
        past = progress(session, round_id, dt.date(2026, 7, 2))
    assert early.totals.assigned == 2 and early.totals.submitted == 1
    assert early.totals.not_started == 1 and early.reminders == []
    assert early.experts[0].outstanding == [items["XQ-004"]]
    assert [e.name for e in late.reminders] == ["孙丽"] and late.days_left == 1
    assert past.overdue and past.reminders
    by_ref = {i.ref: i.counts for i in early.items}
    assert by_ref["XQ-003"].submitted == 1 and by_ref["XQ-004"].not_started == 1


def test_field_share() -> None:
    assert field_share(["430", "460"], ["430"]) == 0.5
    assert field_share([], ["430"]) == 0.0


@pytest.mark.slow  # loads the real model (shared with the other encoder tests of a run)
def test_affinity_from_the_encoder_prefers_the_fitting_expert(
    database: Database, store: CommitteeStore, encoder: Encoder
) -> None:
    round_id = _round(database)
    with database.session("test") as session:
        add_items(session, round_id, [ItemSpec("need", "XQ-003"), ItemSpec("need", "XQ-004")])
        items = list(session.scalars(select(RoundItem).order_by(RoundItem.id)))
        experts = [session.get(Expert, store.experts[name]) for name in ("X2", "X5")]
        matrix, source = affinity_matrix(items, [e for e in experts if e is not None], encoder)
    assert source == f"encoder:{encoder.model_id}"
    assert ((matrix >= 0) & (matrix <= 1)).all()
    # Wear-resistant mill liners (XQ-003) suit the mining-machinery expert; copper-foil
    # electrolysis (XQ-004) the surface-treatment and electrochemistry expert.
    assert matrix[0, 1] > matrix[0, 0] and matrix[1, 0] > matrix[1, 1]
