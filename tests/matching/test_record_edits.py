"""Single records from plain values, as a notebook or the API writes them: parsing with the
importer's vocabularies, lifecycle, uniqueness, and finding them back within a visibility."""

from __future__ import annotations

import datetime as dt

import pytest

from matching.errors import NotFound
from matching.lifecycle import InvalidTransition
from matching.record_edits import DuplicateRecord, create_record, update_record, withdraw_record
from matching.record_input import RecordInputError, parse_fields
from matching.record_queries import RecordQuery, Visibility, find_record, list_records
from matching.store.database import Database


def test_values_or_labels_become_stored_values() -> None:
    attributes = parse_fields(
        "needs",
        {
            "title": " 铜带氧化 ",
            "need_type": "平台共建",
            "fields": ["450 冶金工程技术", "化学工程", "450"],
            "cooperation_modes": "合作开发；license",
            "region": "安徽 铜陵 义安区",
            "deadline": "2027年6月",
            "confidential": "是",
            "budget_max": "80万",
            "target_indicators": None,
        },
        creating=False,
    )
    assert attributes == {
        "title": "铜带氧化",
        "need_type": "platform",
        "fields": ["450", "530"],
        "cooperation_modes": ["joint_development", "license"],
        "province": "安徽省",
        "city": "铜陵市",
        "district": "义安区",
        "deadline": dt.date(2027, 6, 30),
        "confidential": True,
        "budget_max": 80.0,
        "target_indicators": "",
    }


def test_every_problem_is_named() -> None:
    with pytest.raises(RecordInputError) as caught:
        parse_fields(
            "results",
            {"maturity": "很成熟", "secret": 1, "ip": [{"type": "发明专利"}]},
            creating=True,
        )
    fields = {problem.field for problem in caught.value.problems}
    assert fields == {"maturity", "secret", "ip", "title", "abstract", "organization_id"}


def test_create_update_withdraw_and_find(database: Database) -> None:
    with database.session("notebook") as session:
        enterprise = create_record(session, "organizations", {"name": "铜陵甲铜业有限公司"})
        need = create_record(
            session,
            "needs",
            {"title": "铜带氧化", "description": "色差", "organization_id": enterprise.id},
        )
        assert need.status == "submitted" and need.external_ref.startswith("XQ-")
        with pytest.raises(DuplicateRecord):
            create_record(session, "organizations", {"name": "铜陵甲铜业有限公司"})
        other = create_record(
            session,
            "needs",
            {"title": "另一个", "description": "描述", "organization_id": enterprise.id},
        )
        with pytest.raises(DuplicateRecord):
            update_record(session, "needs", other, {"external_ref": need.external_ref})
    with database.session("notebook") as session:
        need = find_record(session, "needs", need.external_ref)
        update_record(session, "needs", need, {"status": "已发布"})
        with pytest.raises(InvalidTransition):
            update_record(session, "needs", need, {"status": "草稿"})
    with database.session("notebook") as session:
        need = find_record(session, "needs", str(need.id))
        assert withdraw_record(session, "needs", need).status == "withdrawn"
        with pytest.raises(NotFound):
            find_record(session, "needs", need.id, Visibility(organization_id=enterprise.id + 1))
        page = list_records(session, "needs", RecordQuery(statuses=("已撤回",)))
        assert (page.total, page.items[0].id) == (1, need.id)
        hidden = list_records(
            session, "needs", RecordQuery(), Visibility(statuses=frozenset({"published"}))
        )
        assert hidden.total == 0
