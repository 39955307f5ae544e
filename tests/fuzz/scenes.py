"""For every action: a realistic state in which it is allowed, a moment, and a payload it accepts.

The fuzz tests mutate the payload (and sometimes the state's phase or the actor) and expect either
acceptance or a :class:`~rules.engine.Refusal` naming the field, never any other exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from models.designation import Designation
from models.phase import Phase
from models.state import CenterState
from rules import engine
from rules.agenda import due_now, next_wakeup
from rules.catalog import ACTIONS
from rules.engine import ON_DESIGNATED
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run

DESIGNATED_AT = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
# Late February of the next year: the 2026 report and evaluation are open and 2026 is over.
OPERATING_NOW = datetime(2027, 2, 22, 2, 0, tzinfo=timezone.utc)
# PD13: a year is settled once it is over; the 2027 advance is settled in January 2028.
SETTLE_NOW = datetime(2028, 1, 10, 2, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Scene:
    state: CenterState
    now: datetime
    payload: dict[str, Any]

    def __post_init__(self) -> None:
        # As it arrives over the wire: no dict shared between fields (the factories reuse some).
        object.__setattr__(self, "payload", json.loads(json.dumps(self.payload)))


def bureau(**fields: Any) -> dict[str, Any]:
    return {"actor": f.actor("city_bureau"), "request_id": f.rid(), **fields}


def entity(**fields: Any) -> dict[str, Any]:
    return {"actor": f.actor("implementing_entity", name="王敏"), "request_id": f.rid(), **fields}


def _applied() -> CenterState:
    return run(new_state(), "submit_application", f.application(), facts=[]).state


def _reviewed() -> CenterState:
    return run(_applied(), "record_county_review", f.county_review()).state


def _evaluated() -> CenterState:
    return run(_reviewed(), "record_city_evaluation", f.city_evaluation()).state


def _noticed() -> CenterState:
    state = run(_evaluated(), "publish_notice", f.notice(T0.date()), facts=T0 + timedelta(days=7)).state
    return run(state, "file_objection", {
        "actor": f.actor("public", name="李某"), "request_id": f.rid(),
        "objector": "李某", "contact": "li@example.com", "grounds": "材料存在不实之处"}).state


NOTICE_OVER = T0 + timedelta(days=10)


def _notice_over() -> CenterState:
    """PD16: the notice ended with no open objection; the bureau issues the designation document."""
    state = run(_evaluated(), "publish_notice", f.notice(T0.date()), facts=T0 + timedelta(days=7)).state
    while (wake := next_wakeup(state)) and wake[0] <= NOTICE_OVER:
        state = due_now(state, wake[0]).state
    return state


def _designated() -> CenterState:
    """Designated on 10 March 2026, then every deadline applied up to OPERATING_NOW."""
    state = new_state()
    state.phase = Phase.DESIGNATED
    state.designation = Designation(on=date(2026, 3, 10), name=state.profile.designated_name)
    for hook in ON_DESIGNATED:
        hook(state, DESIGNATED_AT)
    while (wake := next_wakeup(state)) and wake[0] <= OPERATING_NOW:
        state = due_now(state, wake[0]).state
    return state


def _granted(state: CenterState, amount: str = "1000.00") -> CenterState:
    act = engine.parse("grant_advance", bureau(year=2027, amount_yuan=amount, payment_ref="拨款单"))
    engine.check(state, "grant_advance", act, OPERATING_NOW)
    request = ACTIONS["grant_advance"].facts(state, act, OPERATING_NOW)
    assert request is not None
    return engine.decide(state, "grant_advance", act, OPERATING_NOW, request.arg.entry).state


def _clawback_open() -> CenterState:
    state = _granted(_designated())
    return run(state, "settle_subsidy", bureau(year=2027, amount_due_yuan="600.00", assessment_ref="绩效"),
               now=SETTLE_NOW).state


def _change_open() -> CenterState:
    return run(_designated(), "report_major_change",
               entity(kind="restructuring", happened_on="2027-01-15", description="股权重组"), now=OPERATING_NOW).state


RECTIFIED_NOW = datetime(2028, 2, 23, 2, 0, tzinfo=timezone.utc)  # PD15: the year's period has ended


def _rectifying() -> CenterState:
    state = run(_designated(), "record_annual_evaluation",
                bureau(year=2026, grade="不合格", evaluator="第三方", report_ref="PJ-2026"), now=OPERATING_NOW).state
    while (wake := next_wakeup(state)) and wake[0] <= RECTIFIED_NOW:
        state = due_now(state, wake[0]).state
    return state


def scenes() -> dict[str, Scene]:
    """Built once per test session (pure, a few milliseconds); callers deep-copy the state."""
    designated = _designated()
    return {
        "submit_application": Scene(new_state(), T0, f.application()),
        "withdraw": Scene(_applied(), T0, entity(reason="战略调整")),
        "record_county_review": Scene(_applied(), T0, f.county_review()),
        "record_city_evaluation": Scene(_reviewed(), T0, f.city_evaluation()),
        "publish_notice": Scene(_evaluated(), T0, f.notice(T0.date())),
        "file_objection": Scene(_noticed(), T0, {
            "actor": f.actor("public", name="赵某"), "request_id": f.rid(),
            "objector": "赵某", "contact": "zhao@example.com", "grounds": "数据不实"}),
        "resolve_objection": Scene(_noticed(), T0, bureau(objection_id="objection-1", outcome="dismissed",
                                                          finding="经核实不成立")),
        "issue_designation": Scene(_notice_over(), NOTICE_OVER, f.designation_document(NOTICE_OVER.date())),
        "submit_annual_report": Scene(designated, OPERATING_NOW, entity(year=2026, report_ref="NB-2026")),
        "record_annual_evaluation": Scene(designated, OPERATING_NOW, bureau(
            year=2026, grade="良好", evaluator="第三方评估机构", report_ref="PJ-2026")),
        "report_major_change": Scene(designated, OPERATING_NOW, entity(
            kind="merger", happened_on="2027-02-01", description="吸收合并")),
        "record_major_change_review": Scene(_change_open(), OPERATING_NOW, bureau(
            change_id="change-1", still_eligible=True, finding="仍符合条件")),
        "revoke": Scene(designated, OPERATING_NOW, bureau(ground="research_misconduct", evidence="通报文件")),
        "record_rectification_result": Scene(_rectifying(), RECTIFIED_NOW, bureau(
            passed=True, report_ref="ZG-2027", finding="整改到位")),
        "grant_advance": Scene(designated, OPERATING_NOW, bureau(year=2027, amount_yuan="1000.00",
                                                                payment_ref="拨款单")),
        "settle_subsidy": Scene(_granted(designated.model_copy(deep=True)), SETTLE_NOW, bureau(
            year=2027, amount_due_yuan="800.00", assessment_ref="绩效评价")),
        "record_repayment": Scene(_clawback_open(), SETTLE_NOW, bureau(year=2027, amount_yuan="100.00",
                                                                         receipt_ref="缴款书")),
    }
