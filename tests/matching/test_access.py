"""Finding records by id or 编号, and match lists as organization users may see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from matching.access import (
    HIDDEN_ORGANIZATION,
    find_record,
    is_contact_key,
    owner_of,
    redact_match_list,
)
from matching.errors import NotFound
from matching.match_list import Match, MatchList
from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session("test") as session:
        ours = Organization(name="甲企业", kind="enterprise")
        theirs = Organization(name="乙企业", kind="enterprise")
        session.add_all([ours, theirs])
        session.flush()
        session.add_all(
            [
                Need(external_ref="XQ-1", title="一", description="…", enterprise=ours),
                Need(
                    external_ref="XQ-2",
                    title="二",
                    description="…",
                    enterprise=theirs,
                    confidential=True,
                ),
                Need(
                    external_ref="XQ-3",
                    title="三",
                    description="…",
                    enterprise=ours,
                    confidential=True,
                ),
                Need(external_ref="12345", title="四", description="…", enterprise=theirs),
            ]
        )
        session.flush()
        yield session


def test_find_record_by_id_or_ref(session: Session) -> None:
    assert find_record(session, Need, "XQ-2", "需求").title == "二"
    assert find_record(session, Need, 1, "需求").external_ref == "XQ-1"
    assert find_record(session, Need, "1", "需求").external_ref == "XQ-1"
    assert find_record(session, Need, "12345", "需求").title == "四"  # no id 12345: by ref
    assert owner_of(find_record(session, Need, "XQ-1", "需求")) == 1
    for key in ("XQ-404", "²", "٣", "99999999999999999999999", "", "XQ-1\x00", -1, 2**70):
        with pytest.raises(NotFound, match="找不到需求"):
            find_record(session, Need, key, "需求")
    with pytest.raises(NotFound, match="找不到成果「1」"):
        find_record(session, Result, 1, "成果")
    with pytest.raises(NotFound, match="找不到专家"):
        find_record(session, Expert, "ZJ-1", "专家")


def test_contact_keys() -> None:
    for key in ("contact_name", "contact_phone", "Contact_Email", "phone", "email", "mobile"):
        assert is_contact_key(key)
    for key in ("fields", "budget_min", "status", "trl", "deadline"):
        assert not is_contact_key(key)


def _match(rank: int, need_id: int, organization: str) -> Match:
    return Match(
        rank=rank,
        id=need_id,
        ref=f"XQ-{need_id}",
        title="…",
        organization=organization,
        region="安徽省",
        score=0.5,
        components={"fused": 0.5},
        shared_terms=[],
        evidence=None,
        details={
            "status": "published",
            "contact_phone": "13800000000",
            "people": [{"name": "周工", "email": "z@example.com"}],
        },
    )


def test_redaction_strips_contacts_and_hides_confidential_enterprises(session: Session) -> None:
    listed = MatchList(
        direction="result→needs",
        query={"kind": "result", "id": 7},
        items=[_match(1, 1, "甲企业"), _match(2, 2, "乙企业"), _match(3, 3, "甲企业")],
        model_id="m",
        ranker="r",
        filters={},
    )
    seen = redact_match_list(session, listed, organization_id=1)
    assert [item.organization for item in seen.items] == ["甲企业", HIDDEN_ORGANIZATION, "甲企业"]
    assert all(
        item.details == {"status": "published", "people": [{"name": "周工"}]} for item in seen.items
    )
    assert listed.items[1].organization == "乙企业"  # the original is untouched
    assert "contact_phone" in listed.items[0].details
    as_results = MatchList("need→results", {}, [_match(1, 2, "乙大学")], "m", "r", {})
    assert redact_match_list(session, as_results, 1).items[0].organization == "乙大学"
