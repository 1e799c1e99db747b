"""The figures a centre reports: needs collected, results published, matches proposed,
meetings held, contracts signed and their amount, by region, field and period.

Definitions (each counted once, in the month it happened, Beijing time):

- needs collected: needs past draft, by the month they entered the store;
- results published: results published or transferred, by the month they entered the store;
- matches proposed: distinct need-result pairs shown in a match list (feedback ``shown``) or put
  on a matchmaking event's meeting list, by the first time;
- meetings held: distinct need-result pairs with feedback ``meeting`` (event outcomes write
  it), by the first time;
- contracts signed: distinct need-result pairs with feedback ``signed``; the amount (万元) is
  each pair's latest signed amount, counted in that event's month.

Region is the province and field the first GB/T 13745 field code: of the need for everything
but results, of the result for results. Filters apply to the same attributes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.cells import escape_formula
from matching.errors import TechMatchError
from matching.fields import field_code_list
from matching.regions import PROVINCES
from matching.store.models import Event, EventMeeting, Feedback, Need, Result
from matching.vocab import FeedbackAction

__all__ = [
    "FIGURES",
    "GROUPINGS",
    "Dashboard",
    "DashboardError",
    "DashboardFilters",
    "dashboard",
    "dashboard_xlsx",
]

FIGURES: dict[str, str] = {
    "needs_collected": "征集需求（项）",
    "results_published": "发布成果（项）",
    "matches_proposed": "推荐对接（对）",
    "meetings_held": "对接洽谈（对）",
    "contracts_signed": "签约项目（项）",
    "signed_amount": "签约金额（万元）",
}
GROUPINGS: dict[str, str] = {"province": "地区", "field": "领域", "month": "月份"}
BEIJING = dt.timezone(dt.timedelta(hours=8))
UNKNOWN = "（未填）"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class DashboardError(TechMatchError):
    """Filters or a grouping that cannot be read; the message names the parameter."""


@dataclass(frozen=True, kw_only=True)
class DashboardFilters:
    """``province``: exact name (e.g. 安徽省); ``field``: a GB/T 13745 code or name;
    ``period_from`` / ``period_to``: months "YYYY-MM", both included."""

    province: str | None = None
    field: str | None = None
    period_from: str | None = None
    period_to: str | None = None

    def checked(self) -> DashboardFilters:
        """The filters with the field read as a code; ``DashboardError`` when unreadable."""
        for name in ("period_from", "period_to"):
            value = getattr(self, name)
            if value is not None and not _MONTH.match(value):
                raise DashboardError(f"「{name}」应为 YYYY-MM 形式的月份，收到「{value}」")
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise DashboardError("「period_from」不能晚于「period_to」")
        code = None
        if self.field:
            try:
                code = field_code_list().parse(self.field)
            except ValueError as error:
                raise DashboardError(f"「field」：{error}") from None
        return DashboardFilters(
            province=self.province or None,
            field=code,
            period_from=self.period_from,
            period_to=self.period_to,
        )

    def to_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.__dict__.items() if value}


@dataclass(frozen=True)
class _Fact:
    figure: str
    province: str
    field: str
    month: str
    value: float = 1.0


def _month(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(BEIJING).strftime("%Y-%m")
    return moment.strftime("%Y-%m")


def _first(fields: list[str] | None) -> str:
    return fields[0] if fields else ""


def _pair_facts(session: Session, places: dict[int | None, tuple[str, str]]) -> Iterator[_Fact]:
    # Keyed by (need id, result id); both are set in every row read here.
    proposed: dict[tuple[int | None, int | None], str] = {}
    held: dict[tuple[int | None, int | None], str] = {}
    signed: dict[tuple[int | None, int | None], tuple[str, float]] = {}
    rows = session.execute(
        select(Feedback.need_id, Feedback.result_id, Feedback.action, Feedback.amount, Feedback.at)
        .where(Feedback.result_id.is_not(None))
        .order_by(Feedback.at, Feedback.id)
    )
    for need, result, action, amount, at in rows:
        pair, month = (need, result), _month(at)
        if action == FeedbackAction.SHOWN:
            proposed[pair] = min(proposed.get(pair, month), month)
        elif action == FeedbackAction.MEETING:
            held.setdefault(pair, month)
        elif action == FeedbackAction.SIGNED:
            signed[pair] = (month, float(amount or 0.0))  # the latest wins
    meetings = session.execute(
        select(EventMeeting.need_id, EventMeeting.result_id, Event.date)
        .join(Event, Event.id == EventMeeting.event_id)
        .where(EventMeeting.need_id.is_not(None), EventMeeting.result_id.is_not(None))
    )
    for need_id, result_id, date in meetings:
        month = _month(date)
        proposed[need_id, result_id] = min(proposed.get((need_id, result_id), month), month)
    for figure, months in (("matches_proposed", proposed), ("meetings_held", held)):
        for (need_of, _), month in months.items():
            yield _Fact(figure, *places.get(need_of, ("", "")), month)
    for (need_of, _), (month, amount) in signed.items():
        yield _Fact("contracts_signed", *places.get(need_of, ("", "")), month)
        yield _Fact("signed_amount", *places.get(need_of, ("", "")), month, amount)


def _facts(session: Session) -> Iterator[_Fact]:
    places: dict[int | None, tuple[str, str]] = {}
    needs = session.execute(
        select(Need.id, Need.province, Need.fields, Need.status, Need.created_at)
    )
    for need_id, province, fields, status, created in needs:
        places[need_id] = (province or "", _first(fields))
        if status != "draft":
            yield _Fact("needs_collected", *places[need_id], _month(created))
    results = session.execute(
        select(Result.province, Result.fields, Result.created_at).where(
            Result.status.in_(("published", "transferred"))
        )
    )
    for province, fields, created in results:
        yield _Fact("results_published", province or "", _first(fields), _month(created))
    yield from _pair_facts(session, places)


def _keeps(fact: _Fact, filters: DashboardFilters) -> bool:
    return (
        (filters.province is None or fact.province == filters.province)
        and (filters.field is None or fact.field == filters.field)
        and (filters.period_from is None or fact.month >= filters.period_from)
        and (filters.period_to is None or fact.month <= filters.period_to)
    )


def _label(grouping: str, key: str) -> str:
    if not key:
        return UNKNOWN
    if grouping == "field":
        codes = field_code_list()
        return codes[key].display if key in codes else key
    return key


def _order(key: str) -> tuple[bool, int, str]:
    """Provinces in the official order (others after them), fields by code, months in time;
    the unknown last."""
    official = PROVINCES.index(key) if key in PROVINCES else len(PROVINCES)
    return key == "", official, key


def _empty() -> dict[str, float]:
    return dict.fromkeys(FIGURES, 0.0)


def _tidy(figures: dict[str, float]) -> dict[str, float | int]:
    return {
        key: round(value, 4) if key == "signed_amount" else int(value)
        for key, value in figures.items()
    }


@dataclass(frozen=True)
class Dashboard:
    """Totals and, with ``group_by``, one row per region, field or month."""

    filters: dict[str, str]
    group_by: str | None
    totals: dict[str, float | int]
    groups: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "group_by": self.group_by,
            "labels": FIGURES,
            "totals": self.totals,
            "groups": self.groups,
        }


def _summarise(facts: list[_Fact], filters: DashboardFilters, group_by: str | None) -> Dashboard:
    totals = _empty()
    groups: dict[str, dict[str, float]] = defaultdict(_empty)
    for fact in facts:
        if not _keeps(fact, filters):
            continue
        totals[fact.figure] += fact.value
        if group_by is not None:
            groups[getattr(fact, group_by)][fact.figure] += fact.value
    rows = [
        {"key": key, "label": _label(group_by or "", key), **_tidy(groups[key])}
        for key in sorted(groups, key=_order)
    ]
    return Dashboard(filters.to_dict(), group_by, _tidy(totals), rows)


def dashboard(
    session: Session, filters: DashboardFilters | None = None, group_by: str | None = None
) -> Dashboard:
    """The figures under ``filters``; ``group_by`` one of province, field, month."""
    if group_by is not None and group_by not in GROUPINGS:
        raise DashboardError("「group_by」应为 province（地区）、field（领域）或 month（月份）")
    checked = (filters or DashboardFilters()).checked()
    return _summarise(list(_facts(session)), checked, group_by)


def dashboard_xlsx(session: Session, filters: DashboardFilters | None = None) -> bytes:
    """The totals and each grouping on its own sheet, with the definitions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    checked = (filters or DashboardFilters()).checked()
    facts = list(_facts(session))
    total = _summarise(facts, checked, None)
    workbook = Workbook()
    overview = workbook.active
    overview.title = "总览"
    overview.append(["指标", "数值"])
    for key, label in FIGURES.items():
        overview.append([label, total.totals[key]])
    overview.append([])
    conditions = "；".join(f"{k}={v}" for k, v in total.filters.items())
    overview.append(["筛选条件", escape_formula(conditions) or "无"])
    overview.column_dimensions["A"].width = 22
    overview.column_dimensions["B"].width = 40
    for grouping, title in GROUPINGS.items():
        sheet = workbook.create_sheet(f"按{title}")
        sheet.append([title, *FIGURES.values()])
        for row in _summarise(facts, checked, grouping).groups:
            sheet.append([escape_formula(row["label"]), *(row[key] for key in FIGURES)])
        sheet.column_dimensions["A"].width = 24
        sheet.freeze_panes = "B2"
    notes = workbook.create_sheet("说明")
    notes.append(["口径"])
    notes.append(["月份按北京时间；地区为省级；领域为需求（发布成果为成果）的第一个学科代码。"])
    notes.append(["推荐对接、对接洽谈、签约项目均按“需求—成果”对计数，每对只计一次。"])
    notes.append(["签约金额取每对最近一次登记的合同金额（万元）。"])
    for sheet in workbook.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
