"""A small committee store built in code: enterprises (two in one group), a university, needs,
a result and experts with every kind of conflict, shared by the committee tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matching.store.database import Database
from matching.store.models import Expert, Need, Organization, Result

# A one-criterion form: the total is the score × 10, so totals are easy to compute by hand.
SIMPLE_TEMPLATE: dict[str, Any] = {
    "name": "简易评审表",
    "requires_conflict_declaration": True,
    "overall_comment_required": False,
    "criteria": [
        {
            "key": "q",
            "name": "综合评价",
            "weight": 1,
            "scale": {"type": "numeric", "min": 0, "max": 10, "step": 0.5},
        }
    ],
    "vetoes": [{"key": "fake", "name": "需求不真实"}],
}


@dataclass(frozen=True)
class CommitteeStore:
    """Ids of what ``build_store`` created, by short name."""

    needs: dict[str, int]
    results: dict[str, int]
    experts: dict[str, int]
    organizations: dict[str, int]


def build_store(database: Database) -> CommitteeStore:
    """Needs N1-N4, result R1, experts X1-X6.

    Conflicts: X3 works at N2's and N4's enterprise; X4 declares N1's enterprise; X6 works in
    the same group as N1's and N3's enterprises; X1 is in R1's team (by name) and at its
    university. X2 and X5 have no conflicts.
    """
    with database.session("test") as session:
        orgs = {
            "E1": Organization(name="甲铜业有限公司", kind="enterprise", group_name="铜陵有色集团"),
            "E2": Organization(name="乙新材料有限公司", kind="enterprise"),
            "E3": Organization(name="丙机械有限公司", kind="enterprise", group_name="铜陵有色集团"),
            "E4": Organization(name="丁冶炼有限公司", kind="enterprise", group_name="铜陵有色集团"),
            "U1": Organization(name="某工业大学", kind="university"),
            "U2": Organization(name="某材料研究院", kind="institute"),
        }
        session.add_all(orgs.values())
        session.flush()
        needs = {
            "N1": Need(
                external_ref="XQ-001",
                title="铜带退火氧化色差在线检测",
                description="退火炉出口铜带表面出现氧化色差，希望在线检测和控制。",
                fields=["430"],
                enterprise=orgs["E1"],
            ),
            "N2": Need(
                external_ref="XQ-002",
                title="锂电池正极材料烧结工艺优化",
                description="正极材料烧结能耗高、批次一致性差，需要优化烧结曲线。",
                fields=["430", "530"],
                enterprise=orgs["E2"],
            ),
            "N3": Need(
                external_ref="XQ-003",
                title="矿山机械耐磨衬板寿命提升",
                description="球磨机衬板磨损快，更换频繁，希望提高耐磨寿命。",
                fields=["460"],
                enterprise=orgs["E3"],
            ),
            "N4": Need(
                external_ref="XQ-004",
                title="电解铜箔表面针孔缺陷控制",
                description="电解铜箔出现针孔缺陷，良品率低，需要分析原因并改进添加剂。",
                fields=["430", "150"],
                enterprise=orgs["E2"],
            ),
        }
        results = {
            "R1": Result(
                external_ref="CG-001",
                title="高强高导铜合金制备技术",
                abstract="一种高强高导铜合金的成分设计与形变热处理工艺。",
                fields=["430"],
                institution=orgs["U1"],
                team_lead="张明",
                team_members=["李华"],
            )
        }
        experts = {
            "X1": Expert(
                external_ref="ZJ-001",
                name="张明",
                organization=orgs["U1"],
                fields=["430"],
                profile="铜合金材料与热处理",
            ),
            "X2": Expert(
                external_ref="ZJ-002",
                name="王强",
                organization=orgs["U2"],
                fields=["430", "530"],
                profile="金属材料表面处理与电化学",
            ),
            "X3": Expert(
                external_ref="ZJ-003",
                name="赵磊",
                organization=orgs["E2"],
                fields=["430"],
                profile="新材料工程",
            ),
            "X4": Expert(
                external_ref="ZJ-004",
                name="钱芳",
                fields=["460", "430"],
                profile="机械磨损与表面工程",
                conflict_organizations=["甲铜业有限公司"],
            ),
            "X5": Expert(
                external_ref="ZJ-005",
                name="孙丽",
                fields=["460", "150"],
                profile="矿山机械与摩擦学",
            ),
            "X6": Expert(
                external_ref="ZJ-006",
                name="周杰",
                organization=orgs["E4"],
                fields=["430"],
                profile="有色金属冶炼",
            ),
        }
        session.add_all([*needs.values(), *results.values(), *experts.values()])
        session.flush()
        return CommitteeStore(
            needs={k: v.id for k, v in needs.items()},
            results={k: v.id for k, v in results.items()},
            experts={k: v.id for k, v in experts.items()},
            organizations={k: v.id for k, v in orgs.items()},
        )
