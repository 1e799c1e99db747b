"""The demo data: loads without an error, is as large and varied as promised, pairs resolve."""

from __future__ import annotations

import csv
from collections import Counter

from sqlalchemy import func, select

from matching.config import Settings
from matching.demo import load_demo, read_pairs
from matching.store.database import Database
from matching.store.models import Need, Organization, Result
from tests.conftest import DEMO_DIR


def test_demo_loads_cleanly_and_reloading_changes_nothing(
    database: Database, settings: Settings
) -> None:
    first = load_demo(database, DEMO_DIR, settings)
    assert all(report.errors == [] for report in first)
    counts = database.counts()
    assert counts["needs"] >= 200 and counts["results"] >= 400 and counts["experts"] >= 80
    second = load_demo(database, DEMO_DIR, settings)
    assert [(r.created, r.updated) for r in second] == [(0, 0)] * 3
    with database.session() as session:
        enterprises = session.scalar(select(func.count(func.distinct(Need.enterprise_id))))
        institutions = session.scalar(select(func.count(func.distinct(Result.institution_id))))
        kinds = dict(
            session.execute(
                select(Organization.kind, func.count()).group_by(Organization.kind)
            ).all()
        )
        fields = Counter(
            code for (codes,) in session.execute(select(Need.fields)) for code in codes
        )
        cities = {city for (city,) in session.execute(select(Need.city))}
    assert enterprises is not None and enterprises >= 100
    assert institutions is not None and institutions >= 30
    assert kinds["university"] + kinds["institute"] >= 30
    assert len(fields) >= 15
    assert {"铜陵市", "宜昌市", "资阳市", "攀枝花市", "南京市"} <= cities


def test_demo_pairs_refer_to_existing_needs_and_results() -> None:
    pairs = read_pairs(DEMO_DIR)
    with open(DEMO_DIR / "needs.csv", encoding="utf-8") as handle:
        needs = {row["需求编号"] for row in csv.DictReader(handle)}
    with open(DEMO_DIR / "results.csv", encoding="utf-8") as handle:
        results = {row["成果编号"] for row in csv.DictReader(handle)}
    assert len({pair.need_ref for pair in pairs}) >= 60
    assert all(pair.need_ref in needs and pair.result_ref in results for pair in pairs)
    assert all(pair.why for pair in pairs)


def test_demo_texts_are_not_templated() -> None:
    """No sentence of 16+ characters appears in two different texts."""
    texts: list[str] = []
    for name, column in (
        ("needs.csv", "需求描述"),
        ("results.csv", "成果简介"),
        ("experts.csv", "个人简介"),
    ):
        with open(DEMO_DIR / name, encoding="utf-8") as handle:
            texts += [row[column] for row in csv.DictReader(handle)]
    seen: dict[str, int] = {}
    repeated = []
    for index, text in enumerate(texts):
        for sentence in {s.strip() for s in text.replace("；", "。").split("。")}:
            if len(sentence) >= 16:
                if sentence in seen and seen[sentence] != index:
                    repeated.append(sentence)
                seen.setdefault(sentence, index)
    assert repeated == []
    lengths = sorted(len(text) for text in texts)
    assert lengths[len(lengths) // 10] < 130 and lengths[-len(lengths) // 10] > 280
