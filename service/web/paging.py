"""Paging links for list pages: the current filters kept, the page number changed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["Pager"]


@dataclass(frozen=True)
class Pager:
    """Where a list page is: ``page`` of ``pages`` (from 1), ``total`` items; the links to the
    previous and next pages (None at the ends) keep ``params`` (the filters)."""

    page: int
    pages: int
    total: int
    previous: str | None
    next: str | None

    @classmethod
    def of(
        cls, path: str, params: Mapping[str, str], page: int, page_size: int, total: int
    ) -> Pager:
        pages = max(1, math.ceil(total / page_size))
        kept = {key: value for key, value in params.items() if value and key != "page"}

        def link(number: int) -> str:
            return f"{path}?{urlencode({**kept, 'page': number})}"

        return cls(
            page=page,
            pages=pages,
            total=total,
            previous=link(page - 1) if page > 1 else None,
            next=link(page + 1) if page < pages else None,
        )
