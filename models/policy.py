"""The policy in force (PD8): every duration, date and amount of the rule book, as dated data.

A center's policy is frozen into its workflow input when its lifecycle starts, so a revised
guideline applies to new centers without changing running ones (PD8). The numbers live in
``models/data/policy/<version>.toml``, each with the day it takes effect and the clause that sets
it; each field here names the rule in ``../shared/RULES.md`` it serves, and bounds it.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class MonthDay(BaseModel):
    """A day of the year (month, day), e.g. the yearly due date of a report."""

    model_config = ConfigDict(frozen=True)
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _exists_every_year(self) -> MonthDay:
        """A yearly due day must exist in every year: 29 February or 31 April would fail the
        workflow the first time a year opens with it, so they are refused here."""
        try:
            date(2001, self.month, self.day)  # 2001: not a leap year
        except ValueError:
            raise ValueError(f"{self.month:02d}-{self.day:02d} is not a day of every year") from None
        return self


class Policy(BaseModel):
    """PD8: the numbers of one guideline version, fixed for a center at the start of its lifecycle.

    The values come from a data file (models/data/policy/*.toml), each with its clause; none is
    written here. Every number is bounded, so a mistyped file is refused when it is loaded, never
    by a workflow task years later. Some fields keep a default: frozen policies recorded before they
    existed (saved histories) must still parse, with the behaviour they had then.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9.-]*$",
                         description="PD8: identifier of this policy version")
    effective_from: date = Field(description="PD8: the day the guideline took effect")
    source: str = Field(min_length=1, max_length=500, description="PD8: the text that sets these numbers")

    notice_working_days: int = Field(ge=1, le=30, description="D7, PD2: length of the public notice in working days")
    notice_max_days_ahead: int = Field(
        30, ge=0, le=365,  # the behaviour before the field existed (frozen policies of earlier histories)
        description="D7 (product decision): how many days ahead a notice may be scheduled when it is recorded")
    yearly_city_cap_yuan: Decimal = Field(
        ge=Decimal("1.00"), le=Decimal("999999999999.99"), max_digits=14, decimal_places=2,
        description="S1, PD6: city S&T funds for centers per calendar year, yuan",
    )
    max_subsidy_years: int = Field(ge=1, le=10, description="S1: a single center is subsidized for at most this many years")
    designation_deadline_years: int = Field(
        ge=1, le=10, description="S3, PD5: years from the first subsidy within which the center must be designated"
    )
    clawback_due_days: int = Field(ge=1, le=730, description="S2, S3 (product decision): days a center has to repay a clawback")
    rectification_years: int = Field(ge=1, le=5, description="M2, PD4: length of the rectification period")
    delisting_ban_years: int = Field(ge=1, le=10, description="M2, PD7: delisted entity may not apply for this many years")
    revocation_ban_years: int = Field(
        ge=1, le=10, description="M4, PD7: the center and its lead unit may not apply for the same type for this many years"
    )
    revocation_unqualified_streak: int = Field(
        ge=2, le=5, description="M4 (4): consecutive unqualified yearly grades that revoke the designation"
    )
    major_change_report_months: int = Field(
        ge=1, le=24, description="M3, PD3: calendar months to report a major change, from the day it happened"
    )
    annual_report_due: MonthDay = Field(description="M7 (product decision): the report on year Y is due on this day of year Y+1")
    first_year_cutoff: MonthDay = Field(
        MonthDay(month=6, day=30),  # the behaviour before the field existed (histories of 2026-11-28)
        description="M1 (product decision): a center designated by this day is evaluated on its designation year;"
                    " one designated later is first evaluated on the next year",
    )
    annual_report_opens: MonthDay = Field(
        MonthDay(month=12, day=1),  # the behaviour before the field existed (histories of 2026-11-28)
        description="M7 (product decision): the report on year Y may be submitted from this day of year Y",
    )
    annual_evaluation_due: MonthDay = Field(
        description="M1 (product decision): the evaluation of year Y is due on this day of year Y+1")
    compliance_lookback_years: int = Field(
        ge=1, le=10, description="D3 (5): no serious illegal or dishonest conduct in this many past years")
    # Defaults: frozen policies recorded before PD13/PD16 existed must still parse (the data file sets them).
    settlement_due: MonthDay = Field(
        MonthDay(month=12, day=31),
        description="PD13: the settlement of subsidy year Y is due on this day of year Y+1 (city bureau)",
    )
    designation_document_days: int = Field(
        30, ge=1, le=365,
        description="PD16 (product decision): days the city bureau has to issue the designation document once the"
                    " notice has ended with no open objection, and to resolve an objection still open at its end",
    )
    reminder_days_before: tuple[int, ...] = Field(
        min_length=1, max_length=10, description="PD9: days before a deadline at which reminders are sent")

    @field_validator("reminder_days_before")
    @classmethod
    def _reminder_days(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= d <= 365 for d in days) or len(set(days)) != len(days):
            raise ValueError("reminder days must be distinct whole days from 1 to 365")
        return days


class PolicyFileError(ValueError):
    """A policy data file that cannot be used; names the file and the parameter."""


POLICY_DIR = Path(__file__).resolve().parent / "data" / "policy"
_ENTRY_KEYS = {"value", "since", "rule", "reference"}


def load_policy(path: Path) -> Policy:
    """One guideline's data file, checked: every parameter has a value, the day it takes effect (not
    before the guideline) and the clause that sets it; nothing unknown; every value in bounds."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise PolicyFileError(f"{path.name}: {err}") from None
    values: dict[str, Any] = {k: raw.get(k) for k in ("version", "effective_from", "source")}
    unknown = set(raw) - {"version", "effective_from", "source", "parameters"}
    if unknown:
        raise PolicyFileError(f"{path.name}: unknown keys {sorted(unknown)}")
    for name, entry in (raw.get("parameters") or {}).items():
        where = f"{path.name}: parameters.{name}"
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            raise PolicyFileError(f"{where} needs exactly {sorted(_ENTRY_KEYS)}")
        if not isinstance(entry["reference"], str) or len(entry["reference"].strip()) < 4:
            raise PolicyFileError(f"{where}: the reference must cite the clause that sets it")
        since = entry["since"]
        if type(since) is not date or since != raw.get("effective_from"):
            raise PolicyFileError(f"{where}: since must be the guideline's effective_from day (a value that "
                                  "changes later belongs in a new guideline file)")
        if isinstance(entry["value"], bool):
            raise PolicyFileError(f"{where}: a number or a day, not true/false")
        values[name] = entry["value"]
    missing = set(Policy.model_fields) - set(values)
    if missing:  # the defaults are for frozen policies of old histories, never for a file
        raise PolicyFileError(f"{path.name}: parameters missing: {', '.join(sorted(missing))}")
    try:
        policy = Policy.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        raise PolicyFileError(f"{path.name}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    if path.stem != policy.version:
        raise PolicyFileError(f"{path.name}: the file is named after its version, {policy.version!r}")
    return policy


def load_policies(directory: Path = POLICY_DIR) -> tuple[Policy, ...]:
    """Every guideline in ``directory``, oldest first; two with the same effective day are refused."""
    policies = tuple(sorted((load_policy(p) for p in sorted(directory.glob("*.toml"))), key=lambda p: p.effective_from))
    days = [p.effective_from for p in policies]
    if len(set(days)) != len(days):
        raise PolicyFileError(f"{directory}: two guidelines take effect on the same day")
    return policies


POLICIES = load_policies()


def policy_in_force(on: date, policies: tuple[Policy, ...] = POLICIES) -> Policy:
    """PD8: the guideline a center starting on ``on`` is held to (the newest in effect that day)."""
    in_force = [p for p in policies if p.effective_from <= on]
    if not policies:
        raise PolicyFileError(f"no guideline data in {POLICY_DIR}")
    if not in_force:
        raise PolicyFileError(f"no guideline is in effect on {on} (the first takes effect {policies[0].effective_from})")
    return in_force[-1]


GUIDELINE_2025 = next(p for p in POLICIES if p.version == "zs-kjj-2025-10-21")
"""The 2025 guideline (PD8), for tests and docs that need it by name; new centers take policy_in_force."""
