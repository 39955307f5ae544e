"""Emails: every reminder and notice names the center, what is due, the due time, the rule ID,
what to do and whom to ask; Chinese first, English below (INTERFACE.md, PD9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.effects import Email
from models.state import CenterState
from rules.calendar import SHANGHAI


def format_due(at: datetime) -> str:
    """PD1: deadlines are shown in Asia/Shanghai; 24:00 of day X is shown as day X 24:00."""
    local = at.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00 (Asia/Shanghai)"
    return f"{local:%Y-%m-%d %H:%M} (Asia/Shanghai)"


def contacts(state: CenterState) -> list[str]:
    return state.profile.contact_emails


def county(state: CenterState) -> list[str]:
    return [str(state.offices.county_department_email)]


def city(state: CenterState) -> list[str]:
    return [str(state.offices.city_bureau_email)]


def everyone(state: CenterState) -> list[str]:
    return contacts(state) + county(state) + city(state)


def compose(
    state: CenterState,
    *,
    key: str,
    to: list[str],
    rule_id: str,
    subject_zh: str,
    subject_en: str,
    what_zh: str,
    what_en: str,
    todo_zh: str,
    todo_en: str,
    due_at: datetime | None = None,
) -> Email:
    """A bilingual message about ``state``'s center; ``key`` is unique within this lifecycle."""
    name = state.display_name
    ask = f"{state.offices.city_bureau_email} / {state.offices.county_department_email}"
    due = format_due(due_at) if due_at else None
    zh = [
        f"{name}（{state.center_id}）：",
        what_zh,
        f"截止时间：{due}" if due else None,
        f"依据规则：{rule_id}",
        f"需要做什么：{todo_zh}",
        f"如有疑问请联系：{ask}",
    ]
    en = [
        f"{name} ({state.center_id}):",
        what_en,
        f"Due: {due}" if due else None,
        f"Rule: {rule_id}",
        f"What to do: {todo_en}",
        f"Questions: {ask}",
    ]
    body = "\n".join(line for line in zh if line) + "\n\n----\n\n" + "\n".join(line for line in en if line) + "\n"
    return Email(
        key=f"{state.lifecycle_key}:{key}",
        center_id=state.center_id,
        to=sorted(set(to)),
        subject=f"[{rule_id}] {subject_zh} / {subject_en} — {name}",
        body=body,
        rule_id=rule_id,
    )
