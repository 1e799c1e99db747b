"""A round and an event built through the library on a store with the mini demo slice, for
the committee and event page tests (TestClient and browser)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from matching.committee import RoundSpec, create_round
from matching.committee_assign import run_assignment
from matching.committee_forms import Answers, submit_form
from matching.committee_pool import ItemSpec, add_experts, add_items
from matching.evaluation_form import GradeScale, default_needs_template
from matching.event_planning import PairScores, ProposalOptions, apply_proposals
from matching.events import EventSpec, ParticipantSpec, add_participant, create_event
from matching.store.database import Database
from matching.store.models import Expert, Need, Result, ReviewAssignment


@dataclass(frozen=True)
class RoundWorld:
    round_id: int
    # (item id, expert id) of every active assignment, by item
    assignments: list[tuple[int, int]]

    def expert_items(self, expert_id: int) -> list[int]:
        return [item for item, expert in self.assignments if expert == expert_id]

    @property
    def experts(self) -> list[int]:
        return sorted({expert for _, expert in self.assignments})


def make_round(database: Database, name: str = "2026 年第一批需求评比") -> RoundWorld:
    """A round with the default form, the first three needs, every expert in the pool, two
    reviewers per item, assigned (so open)."""
    with database.session("test") as session:
        view = create_round(
            session,
            RoundSpec(name=name, reviewers_per_item=2, max_load=3, deadline=dt.date(2030, 1, 31)),
            "test",
        )
        refs = list(session.scalars(select(Need.external_ref).order_by(Need.id).limit(3)))
        add_items(session, view.id, [ItemSpec("need", ref) for ref in refs])
        add_experts(session, view.id, list(session.scalars(select(Expert.id))))
        run_assignment(session, view.id, None)
        rows = session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.round_id == view.id, ReviewAssignment.active.is_(True))
            .order_by(ReviewAssignment.item_id, ReviewAssignment.expert_id)
        )
        return RoundWorld(view.id, [(row.item_id, row.expert_id) for row in rows])


@dataclass(frozen=True)
class EventWorld:
    event_id: int
    enterprises: list[int]
    teams: list[int]


def make_event(database: Database, pairs: int = 3) -> EventWorld:
    """An event of 3 slots × 2 tables with ``pairs`` enterprises (one demo need each) and as
    many teams (one demo result each), and pending proposals between them (stand-in scores
    instead of the engine's)."""
    with database.session("test") as session:
        event = create_event(
            session,
            EventSpec(
                name="铜陵市科技成果推介对接会", date=dt.date(2026, 5, 20), slots=3, tables=2
            ),
        )
        needs = list(session.scalars(select(Need).order_by(Need.id)))
        results = list(session.scalars(select(Result).order_by(Result.id)))
        enterprises: list[tuple[int, int]] = []
        teams: list[tuple[int, int]] = []
        firms: set[int] = set()
        for need in needs:
            if need.enterprise_id in firms or len(enterprises) == pairs:
                continue
            firms.add(need.enterprise_id)
            spec = ParticipantSpec(kind="enterprise", needs=[need.id])
            enterprises.append((add_participant(session, event.id, spec).id, need.id))
        schools: set[int] = set()
        for result in results:
            if result.institution_id in schools or len(teams) == pairs:
                continue
            schools.add(result.institution_id)
            spec = ParticipantSpec(kind="team", results=[result.id])
            teams.append((add_participant(session, event.id, spec).id, result.id))
        scores = PairScores()
        for n, (enterprise, need_id) in enumerate(enterprises):
            for m, (team, result_id) in enumerate(teams):
                pair = (str(enterprise), str(team))
                value = 0.9 - 0.1 * ((n + m) % pairs)
                scores.enterprise[pair], scores.team[pair] = value, value
                scores.items[pair] = (need_id, result_id)
        apply_proposals(session, event.id, scores, ProposalOptions(per_participant=2))
        return EventWorld(event.id, [e for e, _ in enterprises], [t for t, _ in teams])


def submit_others(database: Database, world: RoundWorld, keep: tuple[int, int]) -> int:
    """Submit every assigned form but ``keep`` (item id, expert id) with spread-out scores,
    so that the results page has rankings, spreads and agreement figures; returns how many."""
    template = default_needs_template()
    grades = ("优", "良", "中", "差")
    count = 0
    with database.session("test") as session:
        for n, (item, expert) in enumerate(world.assignments):
            if (item, expert) == keep:
                continue
            base = 4.0 + 2.0 * (item % 3) + (n % 2)
            scores: dict[str, float | str] = {
                c.key: grades[(item + n) % 4] if isinstance(c.scale, GradeScale) else base
                for c in template.criteria
            }
            comments = {c.key: "对标国内先进水平" for c in template.criteria if c.comment_required}
            answers = Answers(
                scores=scores,
                comments=comments,
                overall_comment="意见见各项评语",
                declared_no_conflict=True,
            )
            submit_form(session, world.round_id, item, expert, answers)
            count += 1
    return count
