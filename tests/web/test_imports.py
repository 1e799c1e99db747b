"""The import page: upload, the dry run's per-row report, confirmation as a job, and the
progress page; the ranker training job (admin)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from matching.importing import import_file
from matching.ranker_training import TrainingReport
from matching.store.models import Need
from service.app import create_app
from service.web.jobs import JobRunner
from tests.web.conftest import Site, csrf_of, log_in

HEADER = "需求编号,需求名称,需求描述,企业名称,所在地区,截止日期\n"
GOOD = "XQ-WEB-001,网页导入的需求,测试网页导入流程,网页测试企业有限公司,安徽省合肥市,2027-06-30\n"
BAD = "XQ-WEB-002,日期有误的需求,描述,网页测试企业有限公司,安徽省合肥市,2027-02-30\n"


def _upload(site: Site, content: str, name: str = "需求.csv", **extra: str) -> Any:
    client = site.clients["staff"]
    token = csrf_of(client.get("/import").text)
    data = {"csrf_token": token, "entity": "needs", **extra}
    files = {"file": (name, content.encode("utf-8"), "text/csv")}
    return client.post("/import", data=data, files=files)


def _jobs(site: Site) -> JobRunner:
    runner: JobRunner = site.app.state.jobs
    return runner


def test_a_file_with_errors_shows_each_row_and_cannot_be_confirmed(site: Site) -> None:
    response = _upload(site, HEADER + GOOD + BAD)
    assert response.status_code == 200
    html = response.text
    assert "导入检查：需求.csv" in html and "逐行报告" in html
    assert "日期不存在：2027-02-30" in html and "<td>截止日期</td>" in html
    assert "不能导入" in html and "确认导入" not in html
    with site.database.session("test") as session:
        assert session.scalar(select(Need).where(Need.external_ref == "XQ-WEB-001")) is None


def test_a_checked_file_is_imported_as_a_job_after_confirmation(site: Site) -> None:
    checked = _upload(site, HEADER + GOOD + BAD, skip_invalid="on")
    assert "检查通过：将新增 1 条" in checked.text and "确认导入" in checked.text
    token = checked.text.split('name="token" value="')[1].split('"')[0]
    client = site.clients["staff"]
    data = {"token": token, "csrf_token": csrf_of(checked.text)}
    confirmed = client.post("/import/confirm", data=data, follow_redirects=False)
    assert confirmed.status_code == 303
    job_path = confirmed.headers["location"]
    job = _jobs(site).wait(job_path.rsplit("/", 1)[1])
    assert job is not None and job.status == "done", job
    page = client.get(job_path).text
    assert "已完成" in page and 'value="100"' in page and "<progress" in page
    assert "已写入：新增 1" in page and "日期不存在" in page
    assert 'hx-trigger="every 1s"' not in page  # polling stops when the job ends
    with site.database.session("test") as session:
        need = session.scalar(select(Need).where(Need.external_ref == "XQ-WEB-001"))
        assert need is not None
    assert ("needs", [need.id]) in site.engine.refreshed
    # the token is used up; another user cannot see the job
    again = client.post("/import/confirm", data=data)
    assert again.status_code == 409 and "已过期或已导入" in again.text
    assert site.clients["organiser"].get(job_path).status_code == 404
    assert site.clients["admin"].get(job_path).status_code == 200


def test_unreadable_and_unsupported_files(site: Site) -> None:
    response = _upload(site, "随便写的内容\n没有表头", name="x.csv")
    assert response.status_code == 422 and "文件无法读取" in response.text
    response = _upload(site, "abc", name="x.pdf")
    assert response.status_code == 415 and "不支持的文件类型" in response.text
    client = site.clients["staff"]
    token = csrf_of(client.get("/import").text)
    missing = client.post("/import", data={"csrf_token": token, "entity": "needs"}, files={})
    assert missing.status_code in (415, 422)


def test_upload_without_csrf_token_is_refused(site: Site) -> None:
    files = {"file": ("需求.csv", (HEADER + GOOD).encode(), "text/csv")}
    response = site.clients["staff"].post("/import", data={"entity": "needs"}, files=files)
    assert response.status_code == 403


def test_ranker_training_runs_as_a_job(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def train(engine: Any, from_feedback: bool, folders: Any, progress: Any) -> TrainingReport:
        progress("collecting feedback pairs and their features")
        progress("training and comparing on held-out queries")
        return TrainingReport(True, "v0001", {"queries": 12}, {}, "新模型更好，已启用。")

    monkeypatch.setattr("matching.ranker_sources.train_from_sources", train)
    client = site.clients["admin"]
    token = csrf_of(client.get("/ranker").text)
    response = client.post("/ranker/train", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    job = _jobs(site).wait(response.headers["location"].rsplit("/", 1)[1])
    assert job is not None and job.status == "done" and job.outcome is not None
    assert "新模型更好" in job.outcome.summary
    fragment = client.get(response.headers["location"] + "/progress").text
    assert "已完成" in fragment and "queries：12" in fragment


def test_a_second_training_waits_for_the_first(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def train(engine: Any, from_feedback: bool, folders: Any, progress: Any) -> TrainingReport:
        release.wait(10)
        return TrainingReport(False, "v0002", {}, {}, "未胜出。")

    monkeypatch.setattr("matching.ranker_sources.train_from_sources", train)
    client = site.clients["admin"]
    token = csrf_of(client.get("/ranker").text)
    first = client.post("/ranker/train", data={"csrf_token": token}, follow_redirects=False)
    second = client.post("/ranker/train", data={"csrf_token": token})
    release.set()
    assert second.status_code == 409 and "已有「训练排序模型」任务在进行中" in second.text
    job = _jobs(site).wait(first.headers["location"].rsplit("/", 1)[1])
    assert job is not None and job.outcome is not None and "未胜出" in job.outcome.summary


def test_the_import_job_bar_follows_the_rows(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.web.routes import imports

    seen: list[tuple[int, str]] = []
    follow = imports.row_progress(lambda percent, message: seen.append((percent, message)))
    for done in (200, 400, 600, 800, 1000):
        follow(done, 1000)
    assert [p for p, _ in seen] == [17, 29, 41, 53, 65]
    assert seen[0][1] == "正在检查数据：200/500 行"
    assert seen[2][1] == "正在写入数据：100/500 行"
    assert seen[-1][1] == "正在写入数据：500/500 行"

    calls: list[tuple[int, int]] = []
    real = import_file

    def recording(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def both(done: int, total: int) -> None:
            calls.append((done, total))
            progress(done, total)

        return real(*args, progress=both if progress is not None else None, **kwargs)

    monkeypatch.setattr("service.web.routes.imports.import_file", recording)
    checked = _upload(site, HEADER + GOOD)
    token = checked.text.split('name="token" value="')[1].split('"')[0]
    data = {"token": token, "csrf_token": csrf_of(checked.text)}
    confirmed = site.clients["staff"].post("/import/confirm", data=data, follow_redirects=False)
    job = _jobs(site).wait(confirmed.headers["location"].rsplit("/", 1)[1])
    assert job is not None and job.status == "done", job
    assert calls == [(2, 2)]  # the dry run reports nothing; the job's import ends at its total


def test_check_in_one_process_confirm_and_follow_in_another(site: Site) -> None:
    """Behind a load balancer without stickiness the check, the confirmation and the job page
    may reach different service processes: the checked upload and the job live in the store.
    (A second app on the same store stands for the second process.)"""
    second = create_app(site.settings, site.database, site.engine)  # type: ignore[arg-type]
    try:
        with TestClient(second) as other:
            log_in(other, "staff")
            row = (
                "XQ-WEB-101,另一进程确认的需求,多进程部署下的导入确认流程测试,"
                "网页测试企业有限公司,安徽省合肥市,2027-06-30\n"
            )
            checked = _upload(site, HEADER + row)
            assert "确认导入" in checked.text
            token = checked.text.split('name="token" value="')[1].split('"')[0]
            form = csrf_of(other.get("/import").text)
            confirmed = other.post(
                "/import/confirm",
                data={"token": token, "csrf_token": form},
                follow_redirects=False,
            )
            assert confirmed.status_code == 303, confirmed.text
            job_path = confirmed.headers["location"]
            runner: JobRunner = second.state.jobs
            assert runner.wait(job_path.rsplit("/", 1)[1]) is not None
            page = site.clients["staff"].get(job_path).text  # the first process's view
            assert "已完成" in page and "已写入：新增 1" in page
    finally:
        second.state.jobs.shutdown()
    with site.database.session("test") as session:
        assert session.scalar(select(Need).where(Need.external_ref == "XQ-WEB-101")) is not None
