"""The controlled list of technical fields: GB/T 13745-2009 first-level disciplines.

The list ships as package data (``resources/gbt13745_2009.csv``: code, name, category). Needs,
results and experts store field codes; people may type a code, a name or "code name".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Field", "FieldCodeList", "field_code_list"]


@dataclass(frozen=True)
class Field:
    """One discipline: code (e.g. ``"450"``), name and category (门类)."""

    code: str
    name: str
    category: str

    @property
    def display(self) -> str:
        """``"450 冶金工程技术"``: how a field is shown and exported."""
        return f"{self.code} {self.name}"


class FieldCodeList:
    """Lookup, parsing and distance over a list of fields."""

    def __init__(self, fields: list[Field]) -> None:
        self.fields = fields
        self._by_code = {field.code: field for field in fields}
        self._by_name = {field.name: field for field in fields}

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Field:
        return self._by_code[code]

    def parse(self, text: str) -> str:
        """The code for ``text``: a code, a name, "code name" or a unique part of a name.

        Raises ``ValueError`` with a Chinese reason when nothing or more than one field fits.
        """
        cleaned = text.strip()
        head = cleaned.split(maxsplit=1)[0] if cleaned else ""
        if head in self._by_code:
            return head
        if cleaned in self._by_name:
            return self._by_name[cleaned].code
        candidates = [field for field in self.fields if cleaned and cleaned in field.name]
        if len(candidates) == 1:
            return candidates[0].code
        if candidates:
            names = "、".join(field.display for field in candidates)
            raise ValueError(f"领域「{cleaned}」不唯一，可能是：{names}")
        raise ValueError(f"领域「{cleaned}」不在《学科分类与代码》(GB/T 13745-2009) 一级学科中")

    def distance(self, code_a: str, code_b: str) -> int:
        """0 for the same field, 1 for the same category (门类), 2 otherwise."""
        if code_a == code_b:
            return 0
        if self._by_code[code_a].category == self._by_code[code_b].category:
            return 1
        return 2


@cache
def field_code_list() -> FieldCodeList:
    """The shipped GB/T 13745-2009 first-level list, loaded once."""
    text = resources.files("matching").joinpath("resources/gbt13745_2009.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return FieldCodeList([Field(row["code"], row["name"], row["category"]) for row in rows])
