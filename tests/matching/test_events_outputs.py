"""The grid and the agendas: as data, XLSX that openpyxl reads back, and PDF with pages."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from matching.event_outputs import (
    agendas_pdf,
    agendas_xlsx,
    event_agendas,
    event_grid,
    grid_pdf,
    grid_xlsx,
)
from matching.event_planning import schedule_event
from matching.event_views import CONFIDENTIAL_TITLE
from matching.events import add_request
from matching.store.database import Database
from matching.store.models import Need
from tests.matching.event_world import enroll, new_event, seed


@pytest.fixture
def event_id(database: Database) -> int:
    """Three enterprises and three teams; five meetings on two tables in three slots."""
    world = seed(database)
    with database.session() as session:
        event = new_event(session, slots=3, tables=2)
        (e0, e1, e2), (t0, t1, t2) = enroll(session, event.id, world)
        for e, t in ((e0, t0), (e0, t1), (e1, t0), (e2, t2), (e1, t2)):
            add_request(session, event.id, e, t)
        schedule_event(session, event.id, time_limit_s=2)
        return event.id


def test_the_grid_and_the_agendas_agree(database: Database, event_id: int) -> None:
    with database.session() as session:
        grid = event_grid(session, event_id)
        agendas = event_agendas(session, event_id)
    assert len(grid.cells) == 5 and grid.times[0] == "09:00–09:20"
    data = grid.to_dict()
    assert [len(slot["tables"]) for slot in data["slots"]] == [2, 2, 2]
    first = data["slots"][0]["tables"][0]["meeting"]
    assert first["enterprise"] and first["need"].startswith("XQ-")
    assert [a.kind for a in agendas] == ["enterprise"] * 3 + ["team"] * 3
    assert sum(len(a.items) for a in agendas) == 10  # each meeting on both agendas
    for agenda in agendas:
        slots = [item.slot for item in agenda.items]
        assert slots == sorted(set(slots))  # nobody twice in a slot
        for item in agenda.items:
            cell = grid.cells[item.slot, item.table]
            assert agenda.name in (cell.enterprise, cell.team)
            assert item.counterpart in (cell.enterprise, cell.team)


def test_a_confidential_need_is_hidden_from_other_organizations(
    database: Database, event_id: int
) -> None:
    with database.session() as session:
        need = session.scalars(select(Need).where(Need.external_ref == "XQ-0-0")).one()
        need.confidential = True
        owner = need.enterprise_id
    with database.session() as session:
        team = event_agendas(session, event_id, viewer=-1)[3]
        own = event_agendas(session, event_id, viewer=owner)[0]
        organiser = event_agendas(session, event_id)[3]
    assert any(CONFIDENTIAL_TITLE in item.need for item in team.items)
    assert all(CONFIDENTIAL_TITLE not in item.need for item in [*own.items, *organiser.items])


def test_xlsx_outputs_read_back(database: Database, event_id: int) -> None:
    with database.session() as session:
        grid = event_grid(session, event_id)
        agendas = event_agendas(session, event_id)
    book = load_workbook(io.BytesIO(grid_xlsx(grid, agendas)))
    assert book.sheetnames == ["洽谈总表", "会谈清单", "参会方日程"]
    total = book["洽谈总表"]
    assert [c.value for c in total[1]] == ["时段", "1 号桌", "2 号桌"]
    assert total.cell(2, 1).value == "09:00–09:20" and "×" in str(total.cell(2, 2).value)
    assert book["会谈清单"].max_row == 1 + 5
    assert book["参会方日程"].max_row == 1 + 10
    single = load_workbook(io.BytesIO(agendas_xlsx(agendas[:1])))
    rows = list(single["会谈日程"].iter_rows(values_only=True))
    assert rows[0][0] == "参会方" and all(row[0] == agendas[0].name for row in rows[1:])


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_pdf_outputs_have_pages_in_a_chinese_font(database: Database, event_id: int) -> None:
    with database.session() as session:
        grid = event_grid(session, event_id)
        agendas = event_agendas(session, event_id)
    sheet = grid_pdf(grid)
    assert sheet.startswith(b"%PDF") and _pages(sheet) == 1 and b"STSong-Light" in sheet
    handouts = agendas_pdf(grid.event, agendas)
    assert handouts.startswith(b"%PDF") and _pages(handouts) == 6
    assert _pages(agendas_pdf(grid.event, [])) == 1
