"""The event pages through TestClient: the list, an event's candidate meetings accepted and
rejected in place (HTMX), accepting every proposal, the schedule as a job, the grid, agendas,
print view and files; role checks and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from matching.store.models import EventMeeting
from service.web.jobs import JobRunner
from service.web.session import CSRF_HEADER
from tests.web.committee_world import EventWorld, make_event
from tests.web.conftest import Site, csrf_of


@pytest.fixture(scope="module")
def event(site: Site) -> EventWorld:
    return make_event(site.database)


def _meetings(site: Site, event_id: int) -> dict[int, EventMeeting]:
    with site.database.session("test") as session:
        rows = list(session.scalars(select(EventMeeting).where(EventMeeting.event_id == event_id)))
        for row in rows:
            session.expunge(row)
        return {row.id: row for row in rows}


@pytest.mark.parametrize("role", ["admin", "staff", "organiser"])
def test_organisers_see_events_and_candidates(site: Site, event: EventWorld, role: str) -> None:
    client = site.clients[role]
    listing = client.get("/events")
    assert listing.status_code == 200 and "铜陵市科技成果推介对接会" in listing.text
    page = client.get(f"/events/{event.event_id}")
    assert page.status_code == 200
    for text in ("候选会谈", "系统推荐", "待确认", "接受", "拒绝", "生成排期", "参会方"):
        assert text in page.text


@pytest.mark.parametrize("role", ["expert", "enterprise", "university"])
def test_others_are_refused(site: Site, event: EventWorld, role: str) -> None:
    for path in ("/events", f"/events/{event.event_id}", f"/events/{event.event_id}/schedule"):
        answer = site.clients[role].get(path)
        assert answer.status_code == 403 and "无权访问" in answer.text


def test_unknown_event_is_404(site: Site) -> None:
    assert site.clients["staff"].get("/events/999999").status_code == 404


def test_decisions_in_place_then_schedule_grid_and_outputs(site: Site, event: EventWorld) -> None:
    client, event_id = site.clients["organiser"], event.event_id
    csrf = csrf_of(client.get(f"/events/{event_id}").text)
    meetings = _meetings(site, event_id)
    first, second = sorted(meetings)[:2]
    url = f"/events/{event_id}/meetings/{first}/decision"

    # CSRF refused
    assert client.post(url, data={"decision": "accept"}).status_code == 403
    assert _meetings(site, event_id)[first].decision == "pending"

    # HTMX: the row comes back with its new state
    headers = {"HX-Request": "true", CSRF_HEADER: csrf}
    row = client.post(url, data={"decision": "accept"}, headers=headers)
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="meeting-{first}"') and "已接受" in row.text
    assert _meetings(site, event_id)[first].decision == "accepted"
    rejected = client.post(
        f"/events/{event_id}/meetings/{second}/decision",
        data={"decision": "reject", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    assert _meetings(site, event_id)[second].decision == "rejected"

    # accept the rest, then schedule as a job
    done = client.post(f"/events/{event_id}/accept-all", data={"csrf_token": csrf})
    assert done.status_code == 200
    assert all(m.decision != "pending" for m in _meetings(site, event_id).values())
    started = client.post(
        f"/events/{event_id}/schedule", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    jobs: JobRunner = site.app.state.jobs
    job = jobs.wait(started.headers["location"].rsplit("/", 1)[1], timeout=60)
    assert job is not None and job.outcome is not None, job
    assert "已排入" in job.outcome.summary
    placed = [m for m in _meetings(site, event_id).values() if m.slot is not None]
    assert placed

    grid = client.get(f"/events/{event_id}/schedule")
    assert grid.status_code == 200
    for text in ("洽谈总表", "1 号桌", "2 号桌", "09:00", "参会方日程", "打印视图"):
        assert text in grid.text
    printed = client.get(f"/events/{event_id}/print")
    assert printed.status_code == 200 and "page-break" in printed.text

    for path, kind in (
        ("grid.xlsx", "spreadsheetml"),
        ("grid.pdf", "pdf"),
        ("agendas.xlsx", "spreadsheetml"),
        ("agendas.pdf", "pdf"),
    ):
        answer = client.get(f"/events/{event_id}/{path}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"], path
        assert "attachment" in answer.headers["content-disposition"]
    assert site.clients["enterprise"].get(f"/events/{event_id}/grid.pdf").status_code == 403


def test_schedule_post_needs_the_token_and_the_role(site: Site, event: EventWorld) -> None:
    url = f"/events/{event.event_id}/schedule"
    assert site.clients["staff"].post(url, follow_redirects=False).status_code == 403
    csrf = csrf_of(site.clients["expert"].get("/needs").text)
    refused = site.clients["expert"].post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 403 and "无权访问" in refused.text
