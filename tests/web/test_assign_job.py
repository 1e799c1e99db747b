"""Reviewer assignment from the round page as a job: the button (organisers, staff, admins),
the job page with the report (total affinity, lowest panel, understaffed items), the stored
panels, role checks and CSRF."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from matching.committee import RoundSpec, create_round, get_round
from matching.committee_assign import AssignmentReport, Understaffed, run_assignment
from matching.committee_pool import ItemSpec, add_experts, add_items
from matching.store.models import Expert, Need, ReviewAssignment
from service.web.jobs import JobRunner
from service.web.routes.committee import assignment_outcome
from tests.web.conftest import Site, csrf_of


def _draft_round(site: Site, name: str, reviewers: int = 2) -> int:
    with site.database.session("test") as session:
        view = create_round(
            session,
            RoundSpec(
                name=name, reviewers_per_item=reviewers, max_load=3, deadline=dt.date(2030, 1, 31)
            ),
            "test",
        )
        refs = list(session.scalars(select(Need.external_ref).order_by(Need.id).limit(3)))
        add_items(session, view.id, [ItemSpec("need", ref) for ref in refs])
        add_experts(session, view.id, list(session.scalars(select(Expert.id))))
        return view.id


def _assigned(site: Site, round_id: int) -> int:
    with site.database.session("test") as session:
        query = select(func.count()).where(
            ReviewAssignment.round_id == round_id, ReviewAssignment.active.is_(True)
        )
        return session.scalar(query) or 0


def test_organiser_runs_the_assignment_as_a_job_and_reads_the_report(site: Site) -> None:
    round_id = _draft_round(site, "分配任务测试批次")
    client = site.clients["organiser"]
    page = client.get(f"/committee/rounds/{round_id}")
    assert page.status_code == 200
    assert (
        "分配评审专家" in page.text and f'action="/committee/rounds/{round_id}/assign"' in page.text
    )
    response = client.post(
        f"/committee/rounds/{round_id}/assign",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    job_path = response.headers["location"]
    jobs: JobRunner = site.app.state.jobs
    job = jobs.wait(job_path.rsplit("/", 1)[1])
    assert job is not None and job.status == "done", job
    done = client.get(job_path).text
    assert "分配评审专家：分配任务测试批次" in done and 'value="100"' in done
    assert "总匹配度" in done and "评审组最低匹配度" in done
    assert "每个评审项目的专家人数均已满足" in done
    assert f'href="/committee/rounds/{round_id}"' in done and "返回评审进度" in done
    assert _assigned(site, round_id) == 6
    again = client.get(f"/committee/rounds/{round_id}").text
    assert "重新分配" in again and "评审中" in again


def test_staff_and_admins_may_assign_others_may_not(site: Site) -> None:
    round_id = _draft_round(site, "权限测试批次")
    for role in ("staff", "admin"):
        client = site.clients[role]
        page = client.get(f"/committee/rounds/{round_id}")
        response = client.post(
            f"/committee/rounds/{round_id}/assign",
            data={"csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, role
        site.app.state.jobs.wait(response.headers["location"].rsplit("/", 1)[1])
    for role in ("enterprise", "university", "expert"):
        client = site.clients[role]
        token = csrf_of(client.get("/committee" if role == "expert" else "/needs").text)
        refused = client.post(f"/committee/rounds/{round_id}/assign", data={"csrf_token": token})
        assert refused.status_code == 403, role


def test_assignment_without_csrf_token_is_refused(site: Site) -> None:
    round_id = _draft_round(site, "CSRF 测试批次")
    refused = site.clients["organiser"].post(f"/committee/rounds/{round_id}/assign", data={})
    assert refused.status_code == 403
    assert _assigned(site, round_id) == 0


def test_a_closed_round_has_no_button_and_the_job_fails_with_the_reason(site: Site) -> None:
    round_id = _draft_round(site, "已结束批次")
    client = site.clients["organiser"]
    page = client.get(f"/committee/rounds/{round_id}").text
    with site.database.session("test") as session:
        get_round(session, round_id).status = "closed"
    closed = client.get(f"/committee/rounds/{round_id}").text
    assert "/assign" not in closed
    response = client.post(
        f"/committee/rounds/{round_id}/assign",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    job = site.app.state.jobs.wait(response.headers["location"].rsplit("/", 1)[1])
    assert job is not None and job.status == "failed"
    assert "评比批次已结束，不能再分配评审" in client.get(response.headers["location"]).text


def test_the_outcome_lists_understaffed_items() -> None:
    report = AssignmentReport(
        round_id=7,
        solver="highs",
        affinity_source="lexical",
        wall_s=0.1,
        n_pairs=3,
        total_affinity=1.5,
        min_item_affinity=0.25,
        min_pair_affinity=0.1,
        conflict_violations=0,
        limit_violations=0,
        n_conflicts=1,
        kept=0,
        added=3,
        removed=0,
        understaffed=[Understaffed(1, "XQ-1", "某需求", 1, 2, "可选专家不足")],
        experts_below_min_load=[],
        panels=[],
    )
    outcome = assignment_outcome(report)
    assert "总匹配度 1.500" in outcome.summary and "评审组最低匹配度 0.250" in outcome.summary
    assert outcome.lines[0] == "人手不足：XQ-1 某需求（已分配 1/2 位）：可选专家不足"
    assert "因利益冲突回避的组合：1 个" in outcome.lines
    assert outcome.link == "/committee/rounds/7"


def test_a_second_assignment_of_the_same_round_waits_for_the_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    round_id = _draft_round(site, "并发测试批次")
    release = threading.Event()
    real = run_assignment

    def slow(*args: Any, **kwargs: Any) -> AssignmentReport:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr("service.web.routes.committee.run_assignment", slow)
    client = site.clients["organiser"]
    token = csrf_of(client.get(f"/committee/rounds/{round_id}").text)
    url = f"/committee/rounds/{round_id}/assign"
    first = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    second = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    release.set()
    assert first.status_code == 303
    assert second.status_code == 409 and "请等待其完成后再试" in second.text
    job = site.app.state.jobs.wait(first.headers["location"].rsplit("/", 1)[1])
    assert job is not None and job.status == "done"
