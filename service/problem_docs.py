"""The problem documents (``service.problems``) as OpenAPI responses, so that a route's schema
says what its errors look like: ``APIRouter(responses=problem_responses(401, 403, 422))``.

Declaring 422 here replaces FastAPI's default validation-error schema, which our handler never
sends (it answers every invalid request with a problem document).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROBLEM_SCHEMA", "problem_responses"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 问题详情；errors 逐项列出字段与原因",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {
                    "field": {"type": "string"},
                    "in": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}

_DESCRIPTIONS = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权访问",
    404: "未找到（或无权查看）",
    409: "与现有数据冲突",
    413: "上传文件过大",
    422: "输入数据无效：errors 列出每个字段及原因",
    429: "请求过于频繁",
    503: "服务暂不可用",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, each a problem document."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "错误"),
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
