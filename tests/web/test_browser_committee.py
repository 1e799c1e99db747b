"""The committee and event pages in a real browser (Debian's Chromium through Playwright)
against ``techmatch serve``: an expert fills and submits a form on a phone (390×844) and the
submission is stored and locked; an organiser accepts proposals, produces the schedule, sees
the grid, then the round's progress and results. The round (with the other experts' forms
submitted) and the event are set up through the library before the server starts, so the
browser does only the users' part. Launch, skip and fail rules and the screenshots as in
``test_browser.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from matching.accounts import create_user
from matching.config import Settings
from matching.demo import load_demo
from matching.evaluation_form import default_needs_template
from matching.store.database import Database
from matching.store.models import EventMeeting, ReviewForm
from tests.service.conftest import PASSWORD
from tests.web.browser import chromium, require_browser, save_screenshot, screenshot_folder, served
from tests.web.committee_world import make_event, make_round, submit_others

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_expert_on_a_phone_and_organiser_scheduling(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings
) -> None:
    require_browser()
    from playwright.sync_api import expect

    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, demo_dir=mini_demo_dir)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    load_demo(database, mini_demo_dir, settings)
    world = make_round(database)
    expert_id = world.experts[0]
    item_id = world.expert_items(expert_id)[0]
    submit_others(database, world, keep=(item_id, expert_id))
    event = make_event(database)
    with database.session("test") as session:
        create_user(session, "zhuanjia", PASSWORD, "expert", display_name="专家", expert=expert_id)
        create_user(session, "zuzhi", PASSWORD, "organiser", display_name="组织者")
    template = default_needs_template()
    shots = screenshot_folder(tmp_path)
    models = encoder_settings.resolved_models_dir
    with served(data_dir, mini_demo_dir, models) as base, chromium() as browser:
        # --- an expert on a phone ---------------------------------------------------------
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.set_default_timeout(20_000)
        _log_in(phone, base, "zhuanjia")
        phone.goto(base + "/committee")
        expect(phone.get_by_role("heading", name="我的评审任务")).to_be_visible()
        save_screenshot(phone, shots / "committee-tasks.png")
        phone.locator(f'a[href$="/items/{item_id}/form"]').click()
        expect(phone.get_by_role("heading", name="评分指标")).to_be_visible()
        assert not phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")

        # submitting too early shows the problems next to the fields
        phone.get_by_role("button", name="提交").click()
        expect(phone.locator(".form-errors")).to_be_visible()
        expect(phone.locator("#err-declared_no_conflict")).to_contain_text("回避声明")

        phone.get_by_label("本人与该项目无利益冲突").check()
        for criterion in template.criteria:
            box = phone.locator(f"#score-{criterion.key}")
            if getattr(criterion.scale, "grades", None):
                box.select_option("良")
            else:
                box.fill("8")
            if criterion.comment_required:
                phone.locator(f"#comment-{criterion.key}").fill("对标国内先进水平")
        phone.get_by_label("总体评价意见").fill("需求真实，建议立项")
        expect(phone.locator("#live-total")).to_contain_text("79.3")  # HTMX, as typed
        save_screenshot(phone, shots / "committee-form-phone.png")
        phone.get_by_role("button", name="提交").click()
        expect(phone.get_by_text("评审表已提交并锁定").first).to_be_visible()
        expect(phone.locator(f"#score-{template.criteria[0].key}")).to_be_disabled()
        expect(phone.get_by_role("button", name="提交")).to_have_count(0)
        with database.session("test") as session:
            form = session.scalar(
                select(ReviewForm).where(
                    ReviewForm.item_id == item_id, ReviewForm.expert_id == expert_id
                )
            )
            assert form is not None and form.status == "submitted"
            assert form.total == pytest.approx(79.25)
        phone.close()

        # --- an organiser accepts proposals and schedules ----------------------------------
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.set_default_timeout(30_000)
        _log_in(page, base, "zuzhi")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="对接会").click()
        page.get_by_role("link", name="铜陵市科技成果推介对接会").click()
        expect(page.get_by_role("heading", name="候选会谈")).to_be_visible()
        rows = page.locator("table.meetings tbody tr")
        first = rows.nth(0)
        first.get_by_role("button", name="接受").click()  # HTMX, in place
        expect(first.locator(".status")).to_have_text("已接受")
        expect(first.get_by_role("button", name="接受")).to_have_attribute("aria-pressed", "true")
        second = rows.nth(1)
        second.get_by_role("button", name="拒绝").click()
        expect(second.locator(".status")).to_have_text("已拒绝")
        save_screenshot(page, shots / "event.png")
        page.get_by_role("button", name="接受全部推荐").click()
        page.get_by_role("button", name="生成排期").click()
        expect(page.get_by_role("link", name="查看洽谈总表")).to_be_visible()
        page.get_by_role("link", name="查看洽谈总表").click()
        expect(page.get_by_role("heading", name="洽谈总表")).to_be_visible()
        expect(page.locator("table.grid td b").first).to_be_visible()
        save_screenshot(page, shots / "event-schedule.png")
        page.get_by_role("link", name="打印视图").first.click()
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("table.grid")).to_be_visible()
        page.emulate_media(media="screen")

        # the round's progress and results, with the score spread chart
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="评审").click()
        page.get_by_role("link", name="2026 年第一批需求评比").click()
        expect(page.get_by_role("heading", name="按专家")).to_be_visible()
        save_screenshot(page, shots / "committee-progress.png")
        page.get_by_role("link", name="评审结果").click()
        expect(page.get_by_role("heading", name="排名与等级")).to_be_visible()
        expect(page.locator("figure.spread svg circle").first).to_be_visible()
        save_screenshot(page, shots / "committee-results.png")
        with database.session("test") as session:
            decisions = list(
                session.scalars(
                    select(EventMeeting.decision).where(EventMeeting.event_id == event.event_id)
                )
            )
            placed = session.scalars(
                select(EventMeeting.id).where(
                    EventMeeting.event_id == event.event_id, EventMeeting.slot.is_not(None)
                )
            ).all()
        assert "pending" not in decisions and "rejected" in decisions
        assert placed
    database.dispose()
