"""Each page renders for the roles that may see it, with its Chinese text; the others get a
403 page; records other organizations may not see do not exist for them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from matching.store.models import Need
from tests.web.conftest import OWN_NEED, OWN_RESULT, Site
from tests.web.stub_engine import TERM


@pytest.mark.parametrize(
    ("path", "texts"),
    [
        ("/needs", ["企业技术需求", "关键词", "状态", "领域", "地区", "共 20 条"]),
        ("/results", ["科技成果", "成熟度", "共 40 条"]),
        (f"/needs/{OWN_NEED}", ["需求信息", "可能解决该需求的科技成果", "相似需求", "感兴趣"]),
        (f"/results/{OWN_RESULT}", ["成果信息", "适合对接的企业需求", "已联系"]),
        ("/import", ["数据导入", "检查文件", "下载「企业技术需求」导入模板"]),
        ("/dashboard", ["成效统计", "对接漏斗", "按领域", "按地区", "<svg"]),
        ("/ranker", ["排序模型", "用反馈训练新模型"]),
    ],
)
def test_staff_and_admin_pages_render(site: Site, path: str, texts: list[str]) -> None:
    role = "admin" if path == "/ranker" else "staff"
    response = site.clients[role].get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    for text in texts:
        assert text in response.text, text
    assert '<html lang="zh-CN">' in response.text


def test_navigation_follows_the_role(site: Site) -> None:
    def nav(role: str) -> list[str]:
        html = site.clients[role].get("/needs").text
        block = html.split('<nav aria-label="主导航">')[1].split("</nav>")[0]
        return re.findall(r">([^<>]+)</a>", block)

    assert nav("staff") == ["需求库", "成果库", "评审", "对接会", "数据导入", "成效统计"]
    assert nav("admin") == [
        "需求库",
        "成果库",
        "评审",
        "对接会",
        "数据导入",
        "成效统计",
        "排序模型",
    ]
    assert nav("organiser") == ["需求库", "成果库", "评审", "对接会", "成效统计"]
    assert nav("expert") == ["需求库", "成果库", "评审"]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("expert", "/import"),
        ("organiser", "/import"),
        ("enterprise", "/dashboard"),
        ("university", "/dashboard"),
        ("staff", "/ranker"),
        ("expert", "/ranker"),
    ],
)
def test_other_roles_get_a_forbidden_page(site: Site, role: str, path: str) -> None:
    response = site.clients[role].get(path)
    assert response.status_code == 403
    assert "无权访问" in response.text and "此页面仅限" in response.text


def test_match_list_highlights_terms_and_shows_scores(site: Site) -> None:
    html = site.clients["staff"].get(f"/needs/{OWN_NEED}").text
    assert f"<mark>{TERM}</mark>" in html
    assert "&lt;b&gt;低温&lt;/b&gt;" in html  # the evidence is escaped, only marks are markup
    assert f'<mark class="term">{TERM}</mark>' in html
    assert "语义相似度" in html and "0.8100" in html  # a component score
    assert "排序：fusion (冷启动)" in html
    assert 'hx-post="/feedback/shown"' in html


def test_enterprise_user_sees_only_its_own_needs(site: Site) -> None:
    client = site.clients["enterprise"]
    html = client.get("/needs").text
    with site.database.session("test") as session:
        own = session.scalars(
            select(Need.external_ref).where(
                Need.enterprise_id
                == select(Need.enterprise_id).where(Need.external_ref == OWN_NEED).scalar_subquery()
            )
        ).all()
        other = session.scalar(select(Need.external_ref).where(Need.external_ref.not_in(own)))
    assert f"共 {len(own)} 条" in html and OWN_NEED in html
    assert client.get(f"/needs/{OWN_NEED}").status_code == 200
    response = client.get(f"/needs/{other}")
    assert response.status_code == 404 and "未找到" in response.text
    # the match list of its own need, without other organizations' contact data
    assert "0562-0000000" not in client.get(f"/needs/{OWN_NEED}").text


def test_university_and_expert_see_a_need_without_its_match_list(site: Site) -> None:
    for role in ("university", "expert"):
        html = site.clients[role].get(f"/needs/{OWN_NEED}").text
        assert "需求信息" in html
        assert "可能解决该需求的科技成果" not in html and "感兴趣" not in html


def test_university_sees_the_needs_its_own_result_fits(site: Site) -> None:
    html = site.clients["university"].get(f"/results/{OWN_RESULT}").text
    assert "适合对接的企业需求" in html and "不相关" in html


def test_list_filters_and_paging(site: Site) -> None:
    client = site.clients["staff"]
    page = client.get("/results", params={"page": 2}).text
    assert "第 2 / 2 页" in page and 'href="/results?page=1"' in page
    searched = client.get("/needs", params={"q": OWN_NEED}).text
    assert "共 1 条" in searched and OWN_NEED in searched
    filtered = client.get("/needs", params={"status": "withdrawn"}).text
    assert "没有符合条件的需求" in filtered
    province = client.get("/needs", params={"province": "安徽省", "page": 1}).text
    assert "安徽省" in province
    kept = client.get("/results", params={"province": "湖南省", "page": 1}).text
    if "下一页</a>" in kept:
        assert "province=" in kept
    bad = client.get("/needs", params={"field": "不存在的领域"})
    assert bad.status_code == 422 and "field" in bad.text
    assert client.get("/needs", params={"page": 0}).status_code == 422


def test_unknown_record_is_a_404_page(site: Site) -> None:
    response = site.clients["staff"].get("/needs/XQ-NONE")
    assert response.status_code == 404 and "找不到" in response.text


def test_dashboard_draws_the_funnel_and_the_groups(site: Site) -> None:
    html = site.clients["organiser"].get("/dashboard", params={"province": "安徽省"}).text
    assert html.count("<svg") == 3
    assert "征集需求" in html and "签约项目" in html
    assert "查看数据表" in html  # the numbers as a table too
    bad = site.clients["organiser"].get("/dashboard", params={"field": "不存在的领域"})
    assert bad.status_code == 422


def test_static_files_are_served(site: Site) -> None:
    assert site.new_client().get("/static/htmx.min.js").status_code == 200
    css = site.new_client().get("/static/app.css")
    assert css.status_code == 200 and "--brand" in css.text


def test_template_download(site: Site) -> None:
    response = site.clients["enterprise"].get("/import/templates/needs")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"  # XLSX
    assert "attachment" in response.headers["content-disposition"]
