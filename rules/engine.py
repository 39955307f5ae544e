"""The pipeline every action and every due deadline takes (DESIGN.md).

``check`` and ``decide`` are pure functions over :class:`CenterState`; the workflow only waits,
calls activities and applies the decisions these return. Rule families (designation, operating
life, money) register their actions and due-handlers here with :func:`action` and :func:`on_due`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from models.actor import Action
from models.directory import Role
from models.effects import Ban, Email
from models.phase import Phase
from models.state import CenterState, Deadline


class Refusal(Exception):
    """A refused action: names the field and the rule, and changes nothing."""

    def __init__(self, rule_id: str, field: str, message: str) -> None:
        # Bounded: a refusal is kept in the state and the audit log, and its text may echo input.
        rule_id, field, message = rule_id[:20], field[:200], message[:1000]
        super().__init__(f"[{rule_id}] {field}: {message}")
        self.rule_id = rule_id
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class FactRequest:
    """Something decide() needs from the outside world, fetched by an activity first.

    If the activity fails with an application error, the action is refused under ``rule_id`` and
    ``field`` with the activity's message (e.g. PD2: a year the calendar does not cover).
    """

    activity: str
    arg: BaseModel
    result_type: Any
    rule_id: str
    field: str
    summary: str


@dataclass
class Decision:
    """A new state plus what to tell the world about it."""

    state: CenterState
    summary: str
    rule_ids: tuple[str, ...]
    emails: list[Email] = field(default_factory=list)
    bans: list[Ban] = field(default_factory=list)
    ledger: list[BaseModel] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    event: str = field(default="", metadata={"doc": "audit name of an automatic step (due:<kind>, reminder)"})


Check = Callable[[CenterState, Any, datetime], None]
Decide = Callable[[CenterState, Any, datetime, Any], Decision]
Facts = Callable[[CenterState, Any, datetime], FactRequest | None]
DueHandler = Callable[[CenterState, Deadline, datetime], Decision]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    payload: type[Action]
    rule_ids: tuple[str, ...]
    roles: frozenset[Role]
    phases: frozenset[Phase] | None
    description: str
    check: Check
    decide: Decide
    facts: Facts | None = None


ACTIONS: dict[str, ActionSpec] = {}
DUE_HANDLERS: dict[str, DueHandler] = {}


def action(
    name: str,
    *,
    payload: type[Action],
    rules: tuple[str, ...],
    roles: set[Role],
    phases: set[Phase] | None,
    description: str,
    check: Check,
    facts: Facts | None = None,
) -> Callable[[Decide], Decide]:
    """Register ``decide`` for the action ``name`` (used as a decorator in the rule families)."""

    def register(decide: Decide) -> Decide:
        if name in ACTIONS:
            raise RuntimeError(f"action {name} registered twice")
        ACTIONS[name] = ActionSpec(
            name, payload, rules, frozenset(roles), frozenset(phases) if phases is not None else None,
            description, check, decide, facts,
        )
        return decide

    return register


def on_due(kind: str) -> Callable[[DueHandler], DueHandler]:
    """Register the handler that runs when a deadline of ``kind`` falls due."""

    def register(handler: DueHandler) -> DueHandler:
        if kind in DUE_HANDLERS:
            raise RuntimeError(f"due handler {kind} registered twice")
        DUE_HANDLERS[kind] = handler
        return handler

    return register


def parse(name: str, payload: Any) -> Action:
    """Parse a raw payload into the action's model; a bad payload names its field."""
    spec = ACTIONS.get(name)
    if spec is None:
        raise Refusal("INTERFACE", "action", f"unknown action {name!r}")
    try:
        return spec.payload.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise Refusal(spec.rule_ids[0] if spec.rule_ids else "INTERFACE", where, first["msg"]) from None


def check(state: CenterState, name: str, act: Action, now: datetime) -> None:
    """Role, county, phase, then the action's own rule checks. Raises :class:`Refusal`."""
    spec = ACTIONS[name]
    rule = spec.rule_ids[0] if spec.rule_ids else "INTERFACE"
    if act.actor.role not in spec.roles:
        allowed = ", ".join(sorted(r.value for r in spec.roles))
        raise Refusal(rule, "actor.role", f"{name} is for {allowed}, not {act.actor.role.value}")
    if act.actor.role is Role.COUNTY_DEPARTMENT and act.actor.county != state.profile.county:
        raise Refusal(
            rule, "actor.county",
            f"only the county department of {state.profile.county.value} may act on this center, "
            f"not {act.actor.county.value if act.actor.county else 'an unnamed county'}",
        )
    if spec.phases is not None and state.phase not in spec.phases:
        allowed = ", ".join(sorted(p.value for p in spec.phases))
        raise Refusal(rule, "phase", f"{name} needs phase {allowed}; the center is {state.phase.value}")
    spec.check(state, act, now)


def decide(state: CenterState, name: str, act: Action, now: datetime, facts: Any = None) -> Decision:
    """Apply an accepted action: the new state and its effects."""
    return settle(ACTIONS[name].decide(state.model_copy(deep=True), act, now, facts), state)


def settle(decision: Decision, previous: CenterState) -> Decision:
    """Every step bumps the revision once, and the state lists the bans it imposed (PD7)."""
    decision.state.revision = previous.revision + 1
    decision.rule_ids = tuple(dict.fromkeys(decision.rule_ids))  # each rule once in the audit row
    decision.state.bans.extend(decision.bans)
    return decision


def next_id(state: CenterState, prefix: str) -> str:
    """A fresh id for an objection, change or ledger entry (mutates the state's counter)."""
    state.seq += 1
    return f"{prefix}-{state.seq}"


def end_lifecycle(state: CenterState, phase: Phase, now: datetime, reason: str) -> None:
    """Move to an ended phase; drop the deadlines that no longer apply (a clawback owed stays)."""
    state.phase = phase
    state.ended_at = now
    state.end_reason = reason
    state.agenda = [d for d in state.agenda if d.outlives_end]


DesignatedHook = Callable[[CenterState, datetime], list[Email]]
ON_DESIGNATED: list[DesignatedHook] = []


def when_designated(hook: DesignatedHook) -> DesignatedHook:
    """Register what another rule family starts or stops at designation (e.g. the yearly cycle)."""
    ON_DESIGNATED.append(hook)
    return hook
