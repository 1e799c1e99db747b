"""Request and response models of the API (pydantic), per resource."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

__all__ = ["Page"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` counts every match, ``page`` counts from 1."""

    items: list[T]
    total: int = Field(description="符合条件的记录总数")
    page: int
    page_size: int
