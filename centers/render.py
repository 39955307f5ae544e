"""Plain-text rendering for the terminal: aligned tables (CJK-aware) and a center's state."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from models.mail import UndeliveredMail
from models.subsidy import yuan_text
from models.state import CenterState
from rules.messages import period_note
from rules.periods import ban_end_text
from staff.text import county_text, deadline_status, due_text, field_text, local_text  # noqa: F401  re-exported


def width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A left-aligned table with a dashed rule under the header; None shows as '-'."""
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], width(value))
    lines = ["  ".join(pad(h, widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(pad(v, widths[i]) for i, v in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def operating_sections(state: CenterState) -> list[str]:
    """M1, M2, M7 by evaluated year (report, grade, rectification), then M3 changes and M4 revocation."""
    op = state.operating
    parts = []
    rectified = {r.grade_year: r for r in op.rectifications}
    years = sorted(set(op.years) | set(op.grades) | set(rectified))
    if years:
        rows = []
        for year in years:
            record = op.years.get(year)
            report = (record.report_ref or "-") + (" (late)" if record and record.report_late else "") if record else "-"
            grade = op.grades.get(year)
            r = rectified.get(year)
            rectification = (f"{r.started_on} to {due_text(r.due_at)}: {r.result or 'running'}" if r else "-")
            rows.append((year, report, f"{grade} ({_GRADE_EN.get(grade, '')})" if grade else "-",
                         local_text(record.graded_at) if record and record.graded_at else "-", rectification))
        parts.append(_section("operating life by evaluated year (M7 report, M1 grade, M2 rectification)", table(
            ["year", "report", "grade", "graded", "rectification"], rows)))
    if op.major_changes:
        parts.append(_section("major changes (M3)", table(
            ["id", "kind", "happened", "reported", "window ends", "status"],
            [(c.id, c.kind.value, c.happened_on, local_text(c.reported_at) + (" (late)" if c.late else ""),
              due_text(c.window_ends_at), c.status) for c in op.major_changes])))
    if op.revocation:
        parts.append(_section("revoked (M4)", f"{local_text(op.revocation.at)}: {op.revocation.ground.value}: "
                                              f"{op.revocation.evidence}"))
    if op.cancelled_from:
        parts.append(_section("cancelled (M3)", f"the designation is cancelled from {op.cancelled_from}"))
    return parts


def money_sections(state: CenterState) -> list[str]:
    """S1, S2: each subsidy year's advance, assessment and clawback; S3's deadline and lapse."""
    money = state.subsidy
    if not money.years and not money.clawbacks:
        return []
    rows = []
    for y in sorted({y.year for y in money.years} | {c.year for c in money.clawbacks}):
        year, clawback = money.year(y), money.clawback(y)
        rows.append((
            y, yuan_text(year.advance_yuan) if year else "-", local_text(year.granted_at) if year else "-",
            yuan_text(year.amount_due_yuan) if year and year.amount_due_yuan is not None else "not settled",
            (f"{clawback.rule_id} {yuan_text(clawback.amount_yuan)}, repaid {yuan_text(clawback.repaid_yuan)}, "
             f"due {clawback.due_on}{'' if clawback.open else ' (closed)'}") if clawback else "-",
        ))
    lines = [table(["year", "advance", "granted", "amount due (S2)", "clawback"], rows), "",
             f"advanced {yuan_text(money.advanced_yuan)}; clawed back {yuan_text(money.clawed_back_yuan)}; "
             f"outstanding {yuan_text(money.outstanding_yuan)}"]
    if money.s3_lapsed:
        lines.append(f"S3: not designated in time; lapsed {local_text(money.s3_lapsed_at)}: no further subsidy")
    elif money.s3_deadline_at and state.designation is None:
        lines.append(f"S3: to be designated by {due_text(money.s3_deadline_at)} (Asia/Shanghai)")
    return [_section("subsidy by year (S1-S3)", "\n".join(lines))]


_GRADE_EN = {"优秀": "excellent", "良好": "good", "合格": "qualified", "不合格": "unqualified"}


def _section(title: str, body: str) -> str:
    return f"\n{title}\n" + "\n".join(f"  {line}" for line in body.splitlines())


def state_text(state: CenterState, now: datetime, ui_link: str | None = None,
               undelivered: Sequence[UndeliveredMail] = ()) -> str:
    """Everything the `state` query holds, readable by a clerk; empty sections are left out."""
    p = state.profile
    head = [
        ("center", f"{p.center_id}  (workflow center-{p.center_id})"),
        ("name", state.display_name),
        ("phase", state.phase.value + (f"  (ended {local_text(state.ended_at)}: {state.end_reason})" if state.ended else "")),
        ("county", county_text(p.county.value)),
        ("field", field_text(p.field.value, p.field_name_zh)),
        ("route", p.route.value),
        ("implementing entity", f"{p.implementing_entity.name} ({p.implementing_entity.credit_code})"),
        ("lead unit", f"{p.lead_unit.name} ({p.lead_unit.credit_code})"),
        ("contacts", ", ".join(f"{c.name} <{c.email}>" for c in p.contacts)),
        ("policy", f"{state.policy.version} (PD8)"),
        ("opened", local_text(state.opened_at)),
        ("revision", str(state.revision)),
    ]
    if p.partners:
        head.insert(8, ("partners (M6)", ", ".join(f"{x.name} ({x.credit_code})" for x in p.partners)))
    label = max(width(k) for k, _ in head)
    parts = ["\n".join(f"{pad(k, label)}  {v}" for k, v in head)]

    agenda = sorted(state.agenda, key=lambda d: d.due_at)
    if agenda:
        parts.append(_section("deadlines (Asia/Shanghai)", table(
            ["due", "rule", "who acts", "deadline", "status"],
            [(due_text(d.nominal_due_at if d.held_since and d.nominal_due_at else d.due_at) + period_note(d)[1],
              d.rule_id, "-" if d.internal else d.who_acts.value, f"{d.title_en} / {d.title_zh}",
              "automatic" if d.internal else deadline_status(d, now)) for d in agenda],
        )))
    else:
        parts.append(_section("deadlines", "(none open)"))

    steps = []
    if state.application:
        a = state.application
        steps.append(f"application     {local_text(a.submitted_at)} by {a.submitted_by}; letter {a.commitment_letter_ref}")
    if state.county_review:
        r = state.county_review
        steps.append(f"county review   {local_text(r.at)} by {r.reviewer}: "
                     f"{'recommended' if r.recommend else 'not recommended'} ({r.reasons})")
    if state.city_evaluation:
        e = state.city_evaluation
        steps.append(f"city evaluation {e.on} {e.evaluator}: score {e.score:g}, "
                     f"{'proposed' if e.propose else 'not proposed'} ({e.opinion})")
    if state.notice:
        n = state.notice
        steps.append(f"public notice   from {n.published_on} to {due_text(n.ends_at)}"
                     f"{' (ended)' if n.ended else ''}: {n.reference}")
    if state.designation:
        d = state.designation
        steps.append(f"designation     {d.on}: {d.name}" + (f" ({d.document_ref})" if d.document_ref else ""))
    if steps:
        parts.append(_section("designation procedure (D3-D7)", "\n".join(steps)))

    if state.objections:
        parts.append(_section("objections (D7)", table(
            ["id", "filed", "objector", "status", "grounds / finding"],
            [(o.id, local_text(o.filed_at), o.objector, o.status, o.finding or o.grounds) for o in state.objections],
        )))

    parts += operating_sections(state) + money_sections(state)

    if state.bans:
        parts.append(_section("bans imposed (PD7)", table(
            ["rule", "subject", "credit code", "scope", "from", "until"],
            [(b.rule_id, b.subject_name, b.credit_code, b.scope + (f" ({b.field})" if b.field else ""),
              b.starts_on, ban_end_text(b)) for b in state.bans],
        )))

    if state.rejected:
        recent = state.rejected[-10:]
        parts.append(_section(f"refused actions (last {len(recent)} of {len(state.rejected)})", table(
            ["at", "action", "via", "by", "request", "refusal"],
            [(local_text(r.at), r.action, r.via, r.actor, r.request_id, f"[{r.rule_id}] {r.field}: {r.message}")
             for r in recent],
        )))
    if state.record_failures:
        parts.append(_section("not recorded: PostgreSQL refused these steps (see the audit note)", table(
            ["at", "step", "error"], [(local_text(r.at), r.summary, r.error) for r in state.record_failures])))
    if undelivered:
        parts.append(_section("undelivered mail (outbox)", table(
            ["queued", "subject", "attempts", "state", "last error"],
            [(local_text(m.created_at), m.subject, m.attempts, "FAILED" if m.failed else "retrying", m.last_error)
             for m in undelivered],
        )))
    if ui_link:
        parts.append(f"\nweb UI  {ui_link}")
    return "\n".join(parts)
