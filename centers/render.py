"""Plain-text rendering for the terminal: aligned tables (CJK-aware) and a center's state."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from models.directory import COUNTY_NAMES_ZH, FIELD_NAMES_ZH, County, Field
from models.mail import UndeliveredMail
from models.state import CenterState, Deadline
from rules.calendar import SHANGHAI
from rules.messages import period_note
from rules.periods import ban_end_text


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


def due_text(at: datetime) -> str:
    """PD1: a due time in Asia/Shanghai; the end of day X reads 'X 24:00' (not 'X+1 00:00')."""
    local = at.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def local_text(at: datetime | None) -> str | None:
    """An instant as Asia/Shanghai wall time (PD1), minutes precision."""
    return None if at is None else f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def county_text(county: str) -> str:
    try:
        return f"{county} ({COUNTY_NAMES_ZH[County(county)]})"
    except ValueError:
        return county


def field_text(field: str, name_zh: str | None = None) -> str:
    try:
        zh = name_zh or FIELD_NAMES_ZH.get(Field(field))
    except ValueError:
        zh = name_zh
    return f"{field} ({zh})" if zh else field


def deadline_status(deadline: Deadline, now: datetime) -> str:
    if deadline.held_since is not None:  # PD10: fell due while its year's calendar data is missing
        return "HELD: calendar data missing"
    if deadline.overdue or deadline.due_at <= now:
        return "OVERDUE"
    days = (deadline.due_at - now) / timedelta(days=1)
    return "due today" if days < 1 else f"in {int(days)} d"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Key/value lines of a nested JSON value, for the records other rule families keep."""
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, item in value.items():
            out += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        out = []
        for i, item in enumerate(value):
            out += _flatten(item, f"{prefix}[{i}]")
        return out
    if isinstance(value, list):
        return [(prefix, ", ".join(str(v) for v in value) or "-")]
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T" and value.endswith("Z"):
        try:  # an instant in the JSON dump: show it in Asia/Shanghai like every other time (PD1)
            at = datetime.fromisoformat(value)
            due = prefix.endswith(("deadline_at", "due_at", "ends_at"))  # PD1: a due time reads "X 24:00"
            return [(prefix, f"{due_text(at) if due else local_text(at)} (Asia/Shanghai)")]
        except ValueError:
            pass
    return [(prefix, "-" if value is None else str(value))]


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

    for title, record in (("operating life (M1-M4, M7)", state.operating), ("subsidy (S1-S3)", state.subsidy)):
        computed = set(type(record).model_computed_fields)
        if not record.model_dump(exclude_defaults=True, exclude=computed):
            continue  # nothing recorded yet: derived totals alone would only be zeros
        lines = _flatten(record.model_dump(mode="json", exclude_defaults=True))
        if lines:
            key_w = max(width(k) for k, _ in lines)
            parts.append(_section(title, "\n".join(f"{pad(k, key_w)}  {v}" for k, v in lines)))

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
