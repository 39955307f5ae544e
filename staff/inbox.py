"""The inbox (待办): what a signed-in user must act on next, in their scope, soonest first. Pure.

Two kinds of rows: every open deadline whose actor is the user's role, and every pending step of
the designation procedure (an application waiting for its county's review, an evaluation to
record, a notice to publish, an objection to resolve). Each row names the action that discharges
it, chosen from the action registry: the user's role may take it in the center's phase, and it
enforces the deadline's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.directory import Role
from models.phase import Phase
from models.state import CenterState, Deadline
from rules.catalog import ACTIONS
from staff.identity import StaffUser

# The step that moves a center on in each phase of the designation procedure (D3-D7). A rule
# family may add `issue_designation` (the bureau issues the document after the notice).
STEPS: dict[Phase, tuple[str, ...]] = {
    Phase.PREPARING: ("submit_application",),
    Phase.COUNTY_REVIEW: ("record_county_review",),
    Phase.CITY_EVALUATION: ("record_city_evaluation", "publish_notice"),
    Phase.PUBLIC_NOTICE: ("resolve_objection", "issue_designation"),
}


@dataclass
class InboxRow:
    center_id: str
    center_name: str
    county: str
    phase: str
    title_zh: str
    title_en: str
    rule_id: str
    due_at: datetime | None
    overdue: bool
    action: str | None  # the button; None: nothing to press (automatic, or another role acts)
    ref: str | None = None  # e.g. the objection id the button is about


# Deadline kind -> the action that meets it. Kinds not listed end by themselves when due (the
# notice's end, the S3 designation deadline): no button.
DISCHARGED_BY = {
    "annual_report": "submit_annual_report",  # M7
    "annual_evaluation": "record_annual_evaluation",  # M1
    "rectification": "record_rectification_result",  # M2
    "clawback_due": "record_repayment",  # S2, S3
}


def discharging_action(user: StaffUser, state: CenterState, deadline: Deadline) -> str | None:
    """The action that meets the deadline, if the user's role may take it in the center's phase."""
    name = DISCHARGED_BY.get(deadline.kind)
    if name in ACTIONS and name in user.actions_for(state.phase):
        return name
    return None


def _steps(user: StaffUser, state: CenterState) -> list[InboxRow]:
    allowed = set(user.actions_for(state.phase))
    rows: list[InboxRow] = []

    def row(action: str, zh: str, en: str, rule: str, ref: str | None = None) -> None:
        rows.append(InboxRow(state.center_id, state.display_name, state.profile.county.value, state.phase.value,
                             zh, en, rule, None, False, action, ref))

    if state.phase is Phase.PREPARING and "submit_application" in allowed:
        row("submit_application", "提交认定申请", "submit the application", "D3")
    elif state.phase is Phase.COUNTY_REVIEW and "record_county_review" in allowed:
        row("record_county_review", "审核申请并推荐", "review the application and recommend", "D5")
    elif state.phase is Phase.CITY_EVALUATION and state.city_evaluation is None and "record_city_evaluation" in allowed:
        row("record_city_evaluation", "记录市级综合评审", "record the city evaluation", "D6")
    elif state.phase is Phase.CITY_EVALUATION and "publish_notice" in allowed and state.city_evaluation is not None:
        row("publish_notice", "发布认定公示", "publish the notice", "D7")
    elif state.phase is Phase.PUBLIC_NOTICE:
        if "resolve_objection" in allowed:
            for objection in state.objections:
                if objection.status == "open":
                    row("resolve_objection", f"处理异议 {objection.id}", f"resolve objection {objection.id}",
                        "D7", objection.id)
        if "issue_designation" in allowed and state.notice and state.notice.ended:
            row("issue_designation", "印发认定文件", "issue the designation document", "D7")
    return rows


def inbox(user: StaffUser, states: list[CenterState], now: datetime) -> list[InboxRow]:
    """Rows for ``user`` over the running centers they may see, soonest first, overdue marked."""
    rows: list[InboxRow] = []
    for state in states:
        if not user.sees(state.center_id, state.profile.county.value):
            continue
        for d in state.agenda:
            if d.internal or (d.who_acts is not user.role and user.role is not Role.CITY_BUREAU):
                continue
            rows.append(InboxRow(state.center_id, state.display_name, state.profile.county.value, state.phase.value,
                                 d.title_zh, d.title_en, d.rule_id, d.due_at, d.overdue or d.due_at <= now,
                                 discharging_action(user, state, d), d.ref))
        rows.extend(_steps(user, state))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r.due_at or far, r.center_id, r.title_en))
    return rows
