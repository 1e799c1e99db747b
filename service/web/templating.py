"""Rendering pages: the Jinja2 environment (``service/templates``), what every page gets
(the user, the navigation, the CSRF token) and the filters templates use.

``render(request, "needs/list.html", {...})`` answers a page; every template extends
``base.html`` (the layout: header with the navigation, a ``main`` block, the footer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from matching import __version__
from matching.explain import Evidence
from matching.fields import field_code_list
from matching.vocab import CooperationMode, Role
from service.web.navigation import navigation_for
from service.web.session import CSRF_FIELD, CSRF_HEADER, csrf_token

__all__ = ["COMPONENT_LABELS", "TEMPLATES_DIR", "highlight", "render", "templates"]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# How the score components of a match are named on the pages.
COMPONENT_LABELS: dict[str, str] = {
    "match_score": "排序模型得分",
    "fused": "融合得分",
    "cosine": "语义相似度",
    "dense": "语义得分",
    "dense_rank": "语义名次",
    "lexical": "关键词得分（BM25）",
    "lexical_rank": "关键词名次",
}


def _common(request: Request) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    return {
        "principal": principal,
        "role_label": Role.labels()[principal.role.value] if principal else "",
        "nav": navigation_for(principal),
        "path": request.url.path,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "version": __version__,
    }


def highlight(evidence: Evidence | None) -> Markup:
    """The evidence sentence with its matching spans in ``<mark>`` (the text escaped)."""
    if evidence is None:
        return Markup("")
    sentence, parts, position = evidence.sentence, [], 0
    for start, end in evidence.spans:
        parts += [escape(sentence[position:start]), Markup("<mark>"), escape(sentence[start:end])]
        parts.append(Markup("</mark>"))
        position = end
    parts.append(escape(sentence[position:]))
    return Markup("").join(parts)


def field_label(code: str) -> str:
    """``"450 冶金工程技术"`` for a field code (the code itself when unknown)."""
    codes = field_code_list()
    return codes[code].display if code in codes else code


def cooperation_labels(values: Iterable[str] | None) -> str:
    labels = CooperationMode.labels()
    return "、".join(labels.get(value, value) for value in values or ())


def money(low: float | None, high: float | None) -> str:
    """A range in 万元, as people write it."""
    if low is None and high is None:
        return "面议"
    if low is None or high is None or low == high:
        return f"{low if high is None else high:g} 万元"
    return f"{low:g}–{high:g} 万元"


def number(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_common])
templates.env.filters.update(
    highlight=highlight,
    field_label=field_label,
    cooperation_labels=cooperation_labels,
    number=number,
)
templates.env.globals.update(money=money, component_labels=COMPONENT_LABELS)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page ``name`` rendered with ``context`` (plus what every page gets)."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, dict(context or {}), status_code=status_code, headers=headers
    )
    return response
