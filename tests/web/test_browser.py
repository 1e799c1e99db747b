"""The pages in a real browser (Debian's Chromium through Playwright) against ``techmatch
serve`` with the real model on the mini demo slice, at 1366×768: a staff member logs in with
the keyboard, finds a demo need, opens its matches, records feedback (stored under their name),
looks at a result, the dashboard, and imports a file watching the job's progress bar.

Screenshots of each page go to ``$TECHMATCH_TEST_SCREENSHOTS`` (``docs/screenshots`` to
refresh the README's) or a temporary folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from matching.accounts import create_user
from matching.config import Settings
from matching.feedback import list_feedback
from matching.store.database import Database
from tests.service.conftest import PASSWORD
from tests.web.browser import chromium, require_browser, save_screenshot, screenshot_folder, served

pytestmark = pytest.mark.browser

NEED_TITLE = re.compile("冶炼烟气浓度波动大")  # XQ-A-001 of the demo data
CSV = (
    "需求编号,需求名称,需求描述,企业名称,所在地区,截止日期\n"
    "XQ-WEB-101,高炉煤气余压发电效率提升,现有TRT机组发电效率偏低，希望提升5%以上,浏览器测试钢铁有限公司,安徽省马鞍山市,2027-06-30\n"
    "XQ-WEB-102,日期写错的需求,描述,浏览器测试钢铁有限公司,安徽省马鞍山市,2027-02-30\n"
)


def _feedback(database: Database, need: str) -> list[tuple[str, str | None, str]]:
    with database.session("test") as session:
        events = list_feedback(session, need=need)
        return [(e.action, e.reason, e.actor) for e in events if e.action != "shown"]


def test_staff_finds_a_need_s_matches_and_records_feedback(
    tmp_path: Path, mini_demo_dir: Path, encoder_settings: Settings
) -> None:
    require_browser()
    from playwright.sync_api import expect

    data_dir = tmp_path / "var"
    database = Database(Settings(data_dir=data_dir).resolved_database_url)
    database.upgrade()
    with database.session("test") as session:
        create_user(session, "wang", PASSWORD, "staff", display_name="王工")
    shots = screenshot_folder(tmp_path)
    models = encoder_settings.resolved_models_dir  # the server converts it if missing (locked)
    with served(data_dir, mini_demo_dir, models) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.set_default_timeout(20_000)

        # log in with the keyboard from the home page
        page.goto(base + "/")
        page.get_by_role("link", name="登录", exact=True).click()
        page.get_by_label("用户名").fill("wang")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        save_screenshot(page, shots / "login.png")
        page.keyboard.press("Enter")
        page.wait_for_url(base + "/needs")
        expect(page.get_by_text("wang（转移中心工作人员）")).to_be_visible()
        save_screenshot(page, shots / "needs.png")

        # find the need
        page.get_by_label("关键词").fill("烟气")
        page.get_by_role("button", name="查询").click()
        page.wait_for_url(re.compile(r"q=%E7%83%9F%E6%B0%94"))
        page.get_by_role("link", name=NEED_TITLE).click()
        expect(page.get_by_role("heading", name="可能解决该需求的科技成果")).to_be_visible()
        matches = page.locator("ol.matches").first.locator("li.match")
        expect(matches.first.locator("mark").first).to_be_visible()  # highlighted terms

        # feedback, updated in place
        first, second = matches.nth(0), matches.nth(1)
        first.get_by_role("button", name="感兴趣").click()
        expect(first.locator(".fb-status")).to_have_text("已记录：感兴趣")
        expect(first.get_by_role("button", name="感兴趣")).to_have_attribute("aria-pressed", "true")
        second.get_by_label("不相关的原因").select_option(label="成熟度不够")
        second.get_by_role("button", name="不相关").click()
        expect(second.locator(".fb-status")).to_have_text("已记录：不相关（成熟度不够）")
        save_screenshot(page, shots / "need-matches.png")
        stored = _feedback(database, "XQ-A-001")
        assert ("opened", None, "user:wang") in stored
        assert ("rejected", "immature", "user:wang") in stored
        deadline = time.monotonic() + 10  # the list reported what it showed (HTMX on load)
        while time.monotonic() < deadline:
            with database.session("test") as session:
                if list_feedback(session, need="XQ-A-001", action="shown"):
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the match list did not report the shown pairs")

        # a result and the needs it fits
        first.locator(".match-head a").click()
        expect(page.get_by_role("heading", name="适合对接的企业需求")).to_be_visible()
        save_screenshot(page, shots / "result.png")
        nav = page.get_by_role("navigation", name="主导航")
        nav.get_by_role("link", name="成果库").click()
        expect(page.get_by_role("heading", name="科技成果")).to_be_visible()
        save_screenshot(page, shots / "results.png")

        # the dashboard
        nav.get_by_role("link", name="成效统计").click()
        expect(page.locator("svg").first).to_be_visible()
        save_screenshot(page, shots / "dashboard.png")

        # import: check, read the report, confirm, watch the job
        nav.get_by_role("link", name="数据导入").click()
        save_screenshot(page, shots / "import.png")
        page.get_by_label("数据类型").select_option(label="企业技术需求")
        page.get_by_label("文件", exact=True).set_input_files(
            {"name": "需求征集表.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8")}
        )
        page.get_by_label("跳过有误的行").check()
        page.get_by_role("button", name="检查文件").click()
        expect(page.get_by_text("日期不存在：2027-02-30")).to_be_visible()
        save_screenshot(page, shots / "import-report.png")
        page.get_by_role("button", name="确认导入").click()
        expect(page.get_by_text("已写入：新增 1")).to_be_visible()
        expect(page.locator("progress")).to_have_attribute("value", "100")
        save_screenshot(page, shots / "import-job.png")
        page.goto(base + "/needs?q=XQ-WEB-101")
        expect(page.get_by_role("link", name="高炉煤气余压发电效率提升")).to_be_visible()

        # phone width: the pages reflow without sideways scrolling
        page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/needs", "/needs/XQ-A-001", "/import"):
            page.goto(base + path)
            wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not wide, path
    database.dispose()
