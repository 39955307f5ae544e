"""M5 monitoring: the city bureau watches every center; each county department watches its own.

A monthly status board (pure composition here; the MonitoringDigest workflow sends it) lists each
center's phase, next deadline and last grade, and flags what is overdue. The city's board also
carries the PD2 calendar warning: the bureau is the one who must enter the next year's holidays.
"""

from __future__ import annotations

from datetime import date, datetime

from models.directory import COUNTY_NAMES_ZH
from models.effects import CenterSnapshot, Email
from models.mail import UndeliveredMail
from rules.calendar import calendar_alert, local_date
from rules.messages import format_due

ENDED = {"rejected", "withdrawn", "delisted", "revoked", "cancelled"}


def overdue_items(c: CenterSnapshot, now: datetime) -> int:
    """M5: deadlines passed unmet (kept on the agenda), plus a next deadline the snapshot shows as past."""
    return c.overdue_count + bool(c.next_deadline_at and c.next_deadline_at < now)


def board_lines(centers: list[CenterSnapshot], now: datetime) -> list[str]:
    lines = ["| center | county | phase | next deadline | overdue 逾期 | last grade |", "|---|---|---|---|---|---|"]
    for c in sorted(centers, key=lambda c: (c.county, c.name)):
        due = format_due(c.next_deadline_at) if c.next_deadline_at else "-"
        count = overdue_items(c, now)
        oldest = c.oldest_overdue_at or (c.next_deadline_at if count else None)
        late = f"OVERDUE {count} (since {format_due(oldest)})" if count and oldest else "-"
        lines.append(f"| {c.name} ({c.center_id}) | {c.county} | {c.phase} | {due} | {late} | {c.last_grade or '-'} |")
    return lines


def undelivered_lines(mail: list[UndeliveredMail]) -> list[str]:
    """Mail the outbox has not delivered: staff must see it (issue 9), oldest first."""
    if not mail:
        return []
    lines = ["未送达邮件 / Undelivered mail:", "| center | subject | queued | attempts | state | last error |",
             "|---|---|---|---|---|---|"]
    for m in mail:
        state = "failed 失败" if m.failed else "retrying 重试中"
        lines.append(f"| {m.center_id} | {m.subject[:60]} | {format_due(m.created_at)} | {m.attempts} | {state} "
                     f"| {(m.last_error or '-')[:120]} |")
    return lines


def status_digests(
    centers: list[CenterSnapshot], now: datetime, city_email: str, county_emails: dict[str, str],
    calendar_covered_through: date | None = None, calendar_problem: str | None = None,
    undelivered: list[UndeliveredMail] | None = None,
) -> list[Email]:
    """M5: one board for the city bureau (all live centers), one per county with centers of its own.

    PD2: the city's board opens with a warning when the working-day calendar's data is invalid or
    runs out soon (``calendar_covered_through``: None when unknown, e.g. a board read by older code).
    """
    live = [c for c in centers if c.phase not in ENDED]
    month = local_date(now).strftime("%Y-%m")
    alert = calendar_alert(calendar_covered_through, calendar_problem, local_date(now))
    undelivered = undelivered or []
    digests = [_digest(live, now, city_email, f"monitoring:{month}:city", "全市", "all counties", alert, undelivered)]
    for county, email in sorted(county_emails.items()):
        own = [c for c in live if c.county == county]
        if own:
            name_zh = COUNTY_NAMES_ZH.get(county, county)  # type: ignore[call-overload]  StrEnum keys match str
            ids = {c.center_id for c in own}
            digests.append(_digest(own, now, email, f"monitoring:{month}:{county}", name_zh, county,
                                   undelivered=[m for m in undelivered if m.center_id in ids]))
    return digests


def _digest(centers: list[CenterSnapshot], now: datetime, to: str, key: str, scope_zh: str, scope_en: str,
            alert: str | None = None, undelivered: list[UndeliveredMail] | None = None) -> Email:
    designated = sum(c.phase in ("designated", "rectifying") for c in centers)
    overdue = sum(overdue_items(c, now) for c in centers)
    board = "\n".join(board_lines(centers, now) + [""] + undelivered_lines(undelivered or []))
    body = (
        (f"{alert}\n\n" if alert else "")
        + f"{scope_zh}产业创新中心运行监测（{local_date(now)}）：在册 {len(centers)} 家，已认定 {designated} 家，"
        f"逾期事项 {overdue} 项。\n依据规则：M5\n需要做什么：请关注逾期事项并督促相关单位办理。\n\n{board}\n\n----\n\n"
        f"Monitoring of innovation centers, {scope_en} ({local_date(now)}): {len(centers)} live, "
        f"{designated} designated, {overdue} with an overdue deadline.\nRule: M5\n"
        "What to do: follow up on overdue items with the centers concerned.\n"
    )
    flag = "[PD2 calendar] " if alert else ""
    return Email(key=key, center_id="monitoring", to=[to], rule_id="M5", body=body,
                 subject=f"[M5] {flag}产业创新中心运行监测 / Innovation center status board — {scope_en}")
