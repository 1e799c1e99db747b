"""The committee pages through TestClient: an expert's assignments and form (draft, errors
next to their fields, submission that locks, the live total), the organisers' round list,
progress and results, role checks, another expert's form refused, and CSRF on the POSTs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from matching.evaluation_form import default_needs_template
from matching.store.models import ReviewForm
from service.web.session import CSRF_HEADER
from tests.service.role_accounts import add_account
from tests.web.committee_world import RoundWorld, make_round
from tests.web.conftest import Site, csrf_of, log_in

TEMPLATE = default_needs_template()


@dataclass
class Experts:
    world: RoundWorld
    expert_id: int
    client: TestClient
    other_item: int  # an item of the round not assigned to ``client``'s expert


@pytest.fixture(scope="module")
def experts(site: Site) -> Iterator[Experts]:
    world = make_round(site.database)
    items = {item for item, _ in world.assignments}
    expert_id = next(e for e in world.experts if len(world.expert_items(e)) < len(items))
    add_account(site.database, site.settings, "expert", "zj-page", expert_id=expert_id)
    client = log_in(site.new_client(), "zj-page")
    mine = set(world.expert_items(expert_id))
    other = next(item for item, _ in world.assignments if item not in mine)
    yield Experts(world, expert_id, client, other)


def full_form(csrf: str, action: str = "submit", **changes: str) -> dict[str, str]:
    """Every criterion scored (8 or 良), the required comments, no conflict."""
    data = {"csrf_token": csrf, "action": action, "conflict": "none", "overall_comment": "可以"}
    for criterion in TEMPLATE.criteria:
        grades = getattr(criterion.scale, "grades", None)
        data[f"score.{criterion.key}"] = "良" if grades else "8"
        data[f"comment.{criterion.key}"] = "对标国际先进水平"
    return data | changes


def _form_url(e: Experts, item: int) -> str:
    return f"/committee/rounds/{e.world.round_id}/items/{item}/form"


def _stored(site: Site, item: int, expert: int) -> ReviewForm | None:
    with site.database.session("test") as session:
        form = session.scalar(
            select(ReviewForm).where(ReviewForm.item_id == item, ReviewForm.expert_id == expert)
        )
        if form is not None:
            session.expunge(form)
        return form


def test_an_expert_sees_their_assignments(experts: Experts) -> None:
    page = experts.client.get("/committee")
    assert page.status_code == 200
    assert "我的评审任务" in page.text and "未开始" in page.text
    for item in experts.world.expert_items(experts.expert_id):
        assert _form_url(experts, item) in page.text
    assert _form_url(experts, experts.other_item) not in page.text


def test_the_form_shows_criteria_scales_vetoes_and_the_declaration(experts: Experts) -> None:
    item = experts.world.expert_items(experts.expert_id)[0]
    page = experts.client.get(_form_url(experts, item))
    assert page.status_code == 200
    text = page.text
    for criterion in TEMPLATE.criteria:
        assert criterion.name in text
    for veto in TEMPLATE.vetoes:
        assert veto.name in text
    assert "利益冲突声明" in text and "保存草稿" in text and "提交" in text
    assert 'type="number"' in text and "良（7.5 分）" in text
    assert 'id="live-total"' in text and "/form/total" in text


def test_another_expert_s_item_is_refused(experts: Experts, site: Site) -> None:
    assert experts.client.get(_form_url(experts, experts.other_item)).status_code == 403
    assert experts.client.get(_form_url(experts, 999_999)).status_code == 403
    csrf = csrf_of(experts.client.get("/committee").text)
    posted = experts.client.post(
        _form_url(experts, experts.other_item), data=full_form(csrf), follow_redirects=False
    )
    assert posted.status_code == 403
    assert _stored(site, experts.other_item, experts.expert_id) is None


def test_draft_errors_then_submission_that_locks(experts: Experts, site: Site) -> None:
    client, item = experts.client, experts.world.expert_items(experts.expert_id)[-1]
    url = _form_url(experts, item)
    csrf = csrf_of(client.get(url).text)

    # a POST without the token is refused
    refused = client.post(url, data=full_form("", "draft"), follow_redirects=False)
    assert refused.status_code == 403

    # a partial draft is saved
    draft = {"csrf_token": csrf, "action": "draft", "score.authenticity_urgency": "7.5"}
    saved = client.post(url, data=draft, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert "草稿已保存" in page.text and 'value="7.5"' in page.text
    form = _stored(site, item, experts.expert_id)
    assert form is not None and form.status == "draft"

    # an out-of-range score and a missing comment come back next to their fields
    wrong = full_form(
        csrf, **{"score.authenticity_urgency": "11", "comment.advancement_difficulty": ""}
    )
    answer = client.post(url, data=wrong, follow_redirects=False)
    assert answer.status_code == 422
    assert "超出范围" in answer.text and "须填写评语" in answer.text
    assert 'aria-invalid="true" aria-describedby="err-scores-authenticity_urgency"' in answer.text
    assert 'id="err-comments-advancement_difficulty"' in answer.text
    assert 'value="11"' in answer.text  # what the expert typed is kept
    missing = client.post(url, data=full_form(csrf, conflict=""), follow_redirects=False)
    assert "回避声明" in missing.text

    # the complete form is stored, scored and locked
    done = client.post(url, data=full_form(csrf), follow_redirects=False)
    assert done.status_code == 303, done.text
    form = _stored(site, item, experts.expert_id)
    assert form is not None and form.status == "submitted" and form.total is not None
    assert form.total == pytest.approx(100 * (0.85 * 0.8 + 0.15 * 0.75))
    page = client.get(done.headers["location"])
    assert "已提交并锁定" in page.text and '<fieldset class="plain" disabled>' in page.text
    assert "保存草稿" not in page.text
    again = client.post(url, data=full_form(csrf, **{"score.authenticity_urgency": "2"}))
    assert again.status_code == 422 and "锁定" in again.text
    form = _stored(site, item, experts.expert_id)
    assert form is not None and form.answers["scores"]["authenticity_urgency"] == 8


def test_the_live_total(experts: Experts) -> None:
    client, item = experts.client, experts.world.expert_items(experts.expert_id)[0]
    csrf = csrf_of(client.get(_form_url(experts, item)).text)
    headers = {"HX-Request": "true", CSRF_HEADER: csrf}
    data: dict[str, Any] = {"score.authenticity_urgency": "10", "score.clarity": "优"}
    partial = client.post(_form_url(experts, item) + "/total", data=data, headers=headers)
    assert partial.status_code == 200
    assert "<b>38.5</b>" in partial.text and "已评 2/5 项" in partial.text
    assert client.post(_form_url(experts, item) + "/total", data=data).status_code == 403
    full = {k: v for k, v in full_form(csrf).items() if k.startswith("score.")}
    complete = client.post(_form_url(experts, item) + "/total", data=full, headers=headers)
    assert "<b>79.3</b>" in complete.text and "已评" not in complete.text


@pytest.mark.parametrize("role", ["admin", "staff", "organiser"])
def test_organisers_see_rounds_progress_and_results(
    site: Site, experts: Experts, role: str
) -> None:
    client, round_id = site.clients[role], experts.world.round_id
    rounds = client.get("/committee")
    assert rounds.status_code == 200 and "评比批次" in rounds.text
    assert "2026 年第一批需求评比" in rounds.text
    progress = client.get(f"/committee/rounds/{round_id}")
    assert progress.status_code == 200
    assert "按专家" in progress.text and "按项目" in progress.text and "需催办" in progress.text
    results = client.get(f"/committee/rounds/{round_id}/results")
    assert results.status_code == 200
    for text in ("排名与等级", "评审一致性", "Kendall", "查看数据表", 'role="img"'):
        assert text in results.text
    normalised = client.get(f"/committee/rounds/{round_id}/results?normalise=true")
    assert normalised.status_code == 200 and "已按专家标准化" in normalised.text


def test_results_chart_marks_the_spread(site: Site, experts: Experts) -> None:
    from service.web.routes.committee import spread_chart

    with site.database.session("test") as session:
        from matching.committee_results import round_results

        results = round_results(session, experts.world.round_id)
    chart = spread_chart("分布", results.items)
    scored = [row for row in chart.rows]
    assert scored, "the submitted form gives at least one row"
    row = scored[0]
    assert row.low_x <= (row.mean_x or 0) <= row.high_x
    page = site.clients["staff"].get(f"/committee/rounds/{experts.world.round_id}/results")
    assert "<circle" in page.text and 'class="range"' in page.text


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("enterprise", "/committee", 403),
        ("university", "/committee", 403),
        ("expert", "/committee/rounds/{r}", 403),
        ("expert", "/committee/rounds/{r}/results", 403),
        ("enterprise", "/committee/rounds/{r}/results", 403),
        ("organiser", "/committee/rounds/{r}/items/1/form", 403),
        ("admin", "/committee/rounds/{r}/items/1/form", 403),  # no expert record
    ],
)
def test_role_checks(site: Site, experts: Experts, role: str, path: str, status: int) -> None:
    url = path.format(r=experts.world.round_id)
    answer = site.clients[role].get(url, follow_redirects=False)
    assert answer.status_code == status
    assert "无权访问" in answer.text


def test_without_a_session_the_login_page(site: Site, experts: Experts) -> None:
    answer = site.new_client().get("/committee", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/committee"


def test_navigation_entry(site: Site, experts: Experts) -> None:
    assert 'href="/committee"' in experts.client.get("/committee").text
    assert 'href="/committee"' not in site.clients["enterprise"].get("/needs").text
