"""``GET /``: a Chinese landing page with the store's counts and where to go next."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from matching import __version__
from service.deps import DatabaseDep

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TechMatch 科技供需对接</title>
<style>
body{{font-family:"PingFang SC","Microsoft YaHei",sans-serif;max-width:760px;margin:40px auto;
padding:0 16px;color:#222}} .counts{{display:flex;gap:16px;flex-wrap:wrap}}
.count{{border:1px solid #ddd;border-radius:8px;padding:16px 24px;min-width:120px}}
.count b{{display:block;font-size:28px}} a{{color:#0b5cad}}
</style></head><body>
<h1>TechMatch 科技供需对接</h1>
<p>连接企业技术需求与高校、科研院所的科技成果和专家。</p>
<div class="counts">
<div class="count"><b id="needs">{needs}</b>企业技术需求</div>
<div class="count"><b id="results">{results}</b>科技成果</div>
<div class="count"><b id="experts">{experts}</b>专家</div>
<div class="count"><b id="organizations">{organizations}</b>机构</div>
</div>
<p><a href="/docs">接口文档（OpenAPI）</a> · <a href="/health">服务状态</a></p>
<p style="color:#888">版本 {version}</p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def home(database: DatabaseDep) -> str:
    counts = database.counts()
    return _PAGE.format(version=escape(__version__), **counts)
