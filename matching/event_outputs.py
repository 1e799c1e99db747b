"""What organisers print and hand out for a matchmaking event: the whole grid (slots × tables)
and each participant's agenda, as data, XLSX (openpyxl) and PDF (reportlab).

The PDF uses reportlab's built-in CID font STSong-Light for Chinese: the viewer supplies the
glyphs, so nothing is downloaded or embedded.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from matching.cells import escape_formula
from matching.event_views import meeting_views
from matching.events import (
    KIND_LABELS,
    get_event,
    meetings_of,
    participants_of,
    slot_time,
)
from matching.store.models import Event

__all__ = [
    "Agenda",
    "AgendaItem",
    "EventGrid",
    "GridCell",
    "agendas_pdf",
    "agendas_xlsx",
    "event_agendas",
    "event_grid",
    "grid_pdf",
    "grid_xlsx",
]

FONT = "STSong-Light"


@dataclass(frozen=True)
class GridCell:
    """One meeting in the grid."""

    meeting_id: int
    enterprise: str
    team: str
    need: str
    result: str
    priority: str


@dataclass(frozen=True)
class EventGrid:
    """An event's header and its meetings by (slot, table), both 1-based."""

    event: dict[str, Any]
    times: list[str]
    tables: int
    cells: dict[tuple[int, int], GridCell]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every slot with every table, empty tables as ``null``."""
        return {
            "event": self.event,
            "slots": [
                {
                    "slot": slot,
                    "time": time,
                    "tables": [
                        {"table": table, "meeting": _cell_dict(self.cells.get((slot, table)))}
                        for table in range(1, self.tables + 1)
                    ],
                }
                for slot, time in enumerate(self.times, start=1)
            ],
        }


def _cell_dict(cell: GridCell | None) -> dict[str, Any] | None:
    return None if cell is None else asdict(cell)


@dataclass(frozen=True)
class AgendaItem:
    """One meeting on a participant's agenda."""

    meeting_id: int
    slot: int
    time: str
    table: int
    counterpart: str
    counterpart_kind: str
    need: str
    result: str
    priority: str


@dataclass(frozen=True)
class Agenda:
    """A participant's meetings in slot order."""

    participant_id: int
    name: str
    kind: str
    organization: str
    items: list[AgendaItem]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _header(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "date": event.date.isoformat(),
        "venue": event.venue,
        "status": event.status,
    }


def _placed_views(
    session: Session, event: Event, viewer: int | None = None
) -> list[dict[str, Any]]:
    placed = [m for m in meetings_of(session, event.id) if m.slot is not None]
    views = meeting_views(session, event, placed, viewer)
    return sorted(views, key=lambda v: (v["slot"], v["table"]))


def _title(item: dict[str, Any] | None) -> str:
    return "" if item is None else f"{item['ref']} {item['title']}"


def event_grid(session: Session, event_id: int) -> EventGrid:
    """The stored schedule as a grid."""
    event = get_event(session, event_id)
    cells = {
        (v["slot"], v["table"]): GridCell(
            v["id"],
            v["enterprise"]["name"],
            v["team"]["name"],
            _title(v["need"]),
            _title(v["result"]),
            v["priority_label"],
        )
        for v in _placed_views(session, event)
    }
    times = [slot_time(event, slot) for slot in range(1, event.slots + 1)]
    return EventGrid(_header(event), times, event.tables, cells)


def event_agendas(
    session: Session,
    event_id: int,
    participants: Collection[int] | None = None,
    viewer: int | None = None,
) -> list[Agenda]:
    """Each participant's agenda (only ``participants`` when given), enterprises first; for a
    ``viewer`` organization without other enterprises' confidential need titles."""
    event = get_event(session, event_id)
    views = _placed_views(session, event, viewer)
    agendas = []
    for p in participants_of(session, event_id):
        if participants is not None and p.id not in participants:
            continue
        side, other = ("enterprise", "team") if p.kind == "enterprise" else ("team", "enterprise")
        items = [
            AgendaItem(
                v["id"],
                v["slot"],
                v["time"],
                v["table"],
                v[other]["name"],
                KIND_LABELS[other],
                _title(v["need"]),
                _title(v["result"]),
                v["priority_label"],
            )
            for v in views
            if v[side]["id"] == p.id
        ]
        agendas.append(Agenda(p.id, p.name, p.kind, p.organization.name, items))
    return agendas


# --- XLSX -------------------------------------------------------------------------------------

_AGENDA_HEADERS = ["参会方", "类型", "时段", "时间", "桌号", "会谈对象", "技术需求", "科技成果"]


def _text(value: Any) -> Any:
    return escape_formula(value) if isinstance(value, str) else value


def _sheet(workbook: Any, title: str, rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> None:
    from openpyxl.styles import Alignment, Font

    sheet = workbook.create_sheet(title)
    for row in rows:
        sheet.append([_text(cell) for cell in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width


def _agenda_rows(agendas: Sequence[Agenda]) -> list[list[Any]]:
    rows: list[list[Any]] = [_AGENDA_HEADERS]
    for agenda in agendas:
        kind = KIND_LABELS[agenda.kind]
        rows += [
            [agenda.name, kind, i.slot, i.time, i.table, i.counterpart, i.need, i.result]
            for i in agenda.items
        ] or [[agenda.name, kind, "", "", "", "（无会谈）", "", ""]]
    return rows


def _save(workbook: Any) -> bytes:
    del workbook["Sheet"]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def grid_xlsx(grid: EventGrid, agendas: Sequence[Agenda]) -> bytes:
    """The grid (one row per slot, one column per table), the list of meetings and every
    agenda, as an XLSX workbook."""
    from openpyxl import Workbook

    workbook = Workbook()
    header = ["时段", *(f"{t} 号桌" for t in range(1, grid.tables + 1))]
    rows: list[list[Any]] = [header]
    for slot, time in enumerate(grid.times, start=1):
        cells = [grid.cells.get((slot, t)) for t in range(1, grid.tables + 1)]
        rows.append([time, *(f"{c.enterprise}\n× {c.team}" if c else "" for c in cells)])
    _sheet(workbook, "洽谈总表", rows, [14, *([28] * grid.tables)])
    listing: list[list[Any]] = [
        ["时段", "时间", "桌号", "企业", "技术需求", "科研团队", "科技成果", "来源"]
    ]
    for (slot, table), c in sorted(grid.cells.items()):
        listing.append(
            [slot, grid.times[slot - 1], table, c.enterprise, c.need, c.team, c.result, c.priority]
        )
    _sheet(workbook, "会谈清单", listing, [6, 14, 6, 28, 36, 28, 36, 10])
    _sheet(workbook, "参会方日程", _agenda_rows(agendas), [28, 8, 6, 14, 6, 28, 36, 36])
    return _save(workbook)


def agendas_xlsx(agendas: Sequence[Agenda]) -> bytes:
    """Agendas as an XLSX workbook, one row per meeting."""
    from openpyxl import Workbook

    workbook = Workbook()
    _sheet(workbook, "会谈日程", _agenda_rows(agendas), [28, 8, 6, 14, 6, 28, 36, 36])
    return _save(workbook)


# --- PDF --------------------------------------------------------------------------------------


@cache
def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=4),
        "sub": ParagraphStyle("sub", fontName=FONT, fontSize=10, leading=14, spaceAfter=8),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, wordWrap="CJK"),
    }


def _p(text: str, style: str) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text).replace("\n", "<br/>"), _styles()[style])


def _table(rows: list[list[Any]], widths: list[float]) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _subtitle(event: dict[str, Any]) -> str:
    return "　".join(part for part in (event["date"], event["venue"], event["name"]) if part)


def _build(flowables: list[Any], landscape_page: bool, title: str) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    size = landscape(A4) if landscape_page else A4
    margin = 12 * mm
    document = SimpleDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
    )
    document.build(flowables)
    return buffer.getvalue()


TABLES_PER_PAGE = 6


def grid_pdf(grid: EventGrid) -> bytes:
    """The grid on landscape A4, at most six tables across a page."""
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak

    flowables: list[Any] = []
    for first in range(1, grid.tables + 1, TABLES_PER_PAGE):
        tables = list(range(first, min(first + TABLES_PER_PAGE, grid.tables + 1)))
        if flowables:
            flowables.append(PageBreak())
        flowables += [
            _p(f"{grid.event['name']} 洽谈总表", "title"),
            _p(_subtitle(grid.event), "sub"),
        ]
        rows: list[list[Any]] = [[_p("时段", "cell"), *(_p(f"{t} 号桌", "cell") for t in tables)]]
        for slot, time in enumerate(grid.times, start=1):
            cells = [grid.cells.get((slot, t)) for t in tables]
            rows.append(
                [
                    _p(time, "cell"),
                    *(_p(f"{c.enterprise}\n× {c.team}" if c else "", "cell") for c in cells),
                ]
            )
        width = (273 * mm - 24 * mm) / len(tables)
        flowables.append(_table(rows, [24 * mm, *([width] * len(tables))]))
    return _build(flowables, True, f"{grid.event['name']} 洽谈总表")


def agendas_pdf(event: dict[str, Any], agendas: Sequence[Agenda]) -> bytes:
    """One page (or more) per agenda, for handing out; ``event`` is the grid's header."""
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak

    flowables: list[Any] = []
    for agenda in agendas:
        if flowables:
            flowables.append(PageBreak())
        flowables += [
            _p(f"{agenda.name} 会谈日程", "title"),
            _p(f"{_subtitle(event)}　（{KIND_LABELS[agenda.kind]}：{agenda.organization}）", "sub"),
        ]
        rows: list[list[Any]] = [
            [_p(h, "cell") for h in ("时间", "桌号", "会谈对象", "技术需求", "科技成果")]
        ]
        rows += [
            [_p(text, "cell") for text in (i.time, str(i.table), i.counterpart, i.need, i.result)]
            for i in agenda.items
        ] or [[_p("（暂无会谈）", "cell"), "", "", "", ""]]
        flowables.append(_table(rows, [24 * mm, 14 * mm, 44 * mm, 52 * mm, 52 * mm]))
    if not flowables:
        flowables.append(_p(f"{event['name']}：暂无日程", "title"))
    return _build(flowables, False, f"{event['name']} 会谈日程")
