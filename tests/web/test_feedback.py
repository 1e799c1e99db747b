"""Feedback buttons: HTMX posts that update the button box in place and store the event with
the user as actor; organization users only on their own records; ``shown`` once per pair."""

from __future__ import annotations

from matching.feedback import list_feedback
from tests.web.conftest import OTHER_NEED, OWN_NEED, Site, csrf_of


def _post(site: Site, role: str, page: str, **data: str) -> tuple[int, str]:
    client = site.clients[role]
    token = csrf_of(client.get(page).text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    response = client.post("/feedback", data=data, headers=headers)
    return response.status_code, response.text


def test_interested_button_records_opened_and_updates_in_place(site: Site) -> None:
    need, result = site.ids()
    status, html = _post(
        site,
        "staff",
        f"/needs/{OWN_NEED}",
        need=str(need),
        result=str(result),
        action="opened",
        rank="1",
        ranker="fusion",
    )
    assert status == 200
    assert html.lstrip().startswith(f'<div class="feedback" id="fb-{need}-{result}">')
    assert "已记录：感兴趣" in html
    assert 'value="opened" class="fb" aria-pressed="true"' in html
    with site.database.session("test") as session:
        event = list_feedback(session, need=need, result=result, action="opened")[0]
        assert (event.actor, event.rank, event.direction) == ("user:staff", 1, "need→results")


def test_irrelevant_button_records_the_reason(site: Site) -> None:
    need, result = site.ids()
    status, html = _post(
        site,
        "organiser",
        f"/needs/{OWN_NEED}",
        need=str(need),
        result=str(result),
        action="rejected",
        reason="price",
    )
    assert status == 200 and "已记录：不相关（价格不合适）" in html
    with site.database.session("test") as session:
        event = list_feedback(session, need=need, result=result, action="rejected")[0]
        assert (event.reason, event.actor) == ("price", "user:organiser")


def test_the_page_shows_the_latest_feedback(site: Site) -> None:
    need, result = site.ids()
    _post(site, "staff", "/needs", need=str(need), result=str(result), action="contacted")
    html = site.clients["staff"].get(f"/needs/{OWN_NEED}").text
    box = html.split(f'id="fb-{need}-{result}"')[1].split("</div>")[0]
    assert 'value="contacted" class="fb" aria-pressed="true"' in box
    assert "最近反馈：已联系" in box


def test_without_htmx_the_form_returns_to_the_page(site: Site) -> None:
    need, result = site.ids()
    client = site.clients["staff"]
    token = csrf_of(client.get("/needs").text)
    data = {"need": str(need), "result": str(result), "action": "opened", "csrf_token": token}
    response = client.post("/feedback", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/needs/{need}"


def test_organization_users_only_on_their_own_records(site: Site) -> None:
    need, result = site.ids()
    other = site.ids(need=OTHER_NEED)[0]
    status, _ = _post(
        site, "enterprise", "/needs", need=str(other), result=str(result), action="opened"
    )
    assert status == 404
    status, _ = _post(
        site, "enterprise", "/needs", need=str(need), result=str(result), action="opened"
    )
    assert status == 200
    status, html = _post(
        site, "expert", "/needs", need=str(need), result=str(result), action="opened"
    )
    assert status == 403 and "此页面仅限" in html


def test_invalid_feedback_is_a_message_not_an_error(site: Site) -> None:
    need, result = site.ids()
    status, html = _post(
        site, "staff", "/needs", need=str(need), result=str(result), action="signed"
    )
    assert status == 422 and "action" in html
    status, html = _post(site, "staff", "/needs", need=str(need), result="999999", action="opened")
    assert status == 404 and "找不到成果" in html


def test_shown_is_recorded_once_per_pair(site: Site) -> None:
    need, result = site.ids()
    client = site.clients["staff"]
    token = csrf_of(client.get("/needs").text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    data = {"pair": [f"{need}-{result}-3"], "ranker": "fusion", "direction": "need→results"}
    for _ in range(2):
        assert client.post("/feedback/shown", data=data, headers=headers).status_code == 204
    with site.database.session("test") as session:
        shown = list_feedback(session, need=need, result=result, action="shown")
        assert len(shown) == 1 and shown[0].rank == 3
    bad = client.post("/feedback/shown", data={"pair": ["1-x"]}, headers=headers)
    assert bad.status_code == 422
