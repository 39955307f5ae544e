"""Emails: every reminder and notice names the center, what is due, the due time, the rule ID,
what to do and whom to ask; Chinese first, English below (INTERFACE.md, PD9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.effects import Email
from models.state import CenterState, Deadline
from rules.calendar import SHANGHAI, local_date


def format_due(at: datetime) -> str:
    """PD1: deadlines are shown in Asia/Shanghai; 24:00 of day X is shown as day X 24:00."""
    local = at.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00 (Asia/Shanghai)"
    return f"{local:%Y-%m-%d %H:%M} (Asia/Shanghai)"


def last_day(at: datetime) -> str:
    """PD1: the day whose 24:00 is ``at``."""
    return local_date(at - timedelta(seconds=1)).isoformat()


def period_note(deadline: Deadline | None) -> tuple[str, str]:
    """PD10: (zh, en) note on a period deadline's end: the nominal and the legal last day when they
    differ, or that the end is provisional or held. Empty for other deadlines."""
    if deadline is None or deadline.nominal_due_at is None:
        return "", ""
    nominal = last_day(deadline.nominal_due_at)
    if deadline.held_since is not None:
        year = nominal[:4]
        return (f"（名义期满日 {nominal}；缺少 {year} 年工作日历数据，暂缓到期）",
                f" (nominal last day {nominal}; held until the {year} working-day calendar exists)")
    if deadline.provisional:
        return (f"（暂定：名义期满日 {nominal}，如为休息日则顺延至下一个工作日）",
                f" (provisional: nominal last day {nominal}, moved to the next working day if it is a rest day)")
    return (f"（名义期满日 {nominal} 为休息日，顺延至 {last_day(deadline.due_at)}）",
            f" (the nominal last day {nominal} is a rest day: moved to {last_day(deadline.due_at)})")


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
    # PD10: a deadline ending a period says when its nominal and legal last days differ, or that it is provisional.
    note_zh, note_en = period_note(next((d for d in state.agenda if d.due_at == due_at), None) if due_at else None)
    zh = [
        f"{name}（{state.center_id}）：",
        what_zh,
        f"截止时间：{due}{note_zh}" if due else None,
        f"依据规则：{rule_id}",
        f"需要做什么：{todo_zh}",
        f"如有疑问请联系：{ask}",
    ]
    en = [
        f"{name} ({state.center_id}):",
        what_en,
        f"Due: {due}{note_en}" if due else None,
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
