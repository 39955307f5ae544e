"""Money (S1-S3, PD5, PD6): exact yuan amounts, ledger entries, and the subsidy summary in the state.

The ledger itself lives in PostgreSQL (``db/ledger.py``, table ``subsidy_ledger``): every advance,
settlement, clawback and repayment is an append-only :class:`LedgerEntry`, and every balance is
derived from it. The lifecycle keeps :class:`SubsidyRecord`, the summary its rules need (years
granted, amounts, the first advance day, open clawbacks, whether S3 lapsed). Decisions:
``docs/money.md``.

Amounts are :class:`~decimal.Decimal` yuan with fen precision (two places), never floats: a float
given as an amount is refused at the door (``1.1`` is not exactly 1.10 in binary).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, computed_field, model_validator,
)

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 14  # numeric(14, 2) in PostgreSQL: up to 999,999,999,999.99 yuan


AMOUNT_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?", re.ASCII)  # the schema's pattern, ASCII digits only


def _no_float(value: Any) -> Any:
    """A float (or a bool, which Python counts as an int) never becomes an amount, and text must match
    the published pattern: Decimal() alone would take "1e3", "5_000", " 5" and Arabic-Indic digits."""
    if isinstance(value, (float, bool)):
        raise ValueError('amounts are exact yuan: give a string such as "1500000.00" or an integer, never a float')
    if isinstance(value, str) and not AMOUNT_TEXT.fullmatch(value):
        raise ValueError('amounts are exact yuan: digits 0-9 with at most 2 decimal places, such as "1500000.00"')
    return value


def _to_fen(value: Decimal) -> Decimal:
    """Two places always ("1500000" -> 1500000.00), and no negative zero."""
    return value.quantize(FEN) + ZERO if value else ZERO


_SCHEMA = WithJsonSchema({
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"},
        {"type": "integer", "minimum": 0},
    ],
    "description": "Yuan, exact to the fen: a decimal string with at most 2 places, or an integer; never a float",
    "examples": ["1500000.00"],
})

Yuan = Annotated[
    Decimal, BeforeValidator(_no_float), Field(ge=0, max_digits=MAX_DIGITS, decimal_places=2),
    AfterValidator(_to_fen), _SCHEMA,
]
"""A non-negative amount of yuan, fen precision (e.g. an amount found due, which may be 0)."""

PositiveYuan = Annotated[
    Decimal, BeforeValidator(_no_float), Field(gt=0, max_digits=MAX_DIGITS, decimal_places=2),
    AfterValidator(_to_fen), _SCHEMA,
]
"""A positive amount of yuan, fen precision (an advance, a repayment)."""


def yuan_text(amount: Decimal) -> str:
    """1234567.5 -> '1,234,567.50 yuan' (for English messages)."""
    return f"{amount.quantize(FEN):,} yuan"


def yuan_zh(amount: Decimal) -> str:
    """1234567.5 -> '1,234,567.50元' (for Chinese messages)."""
    return f"{amount.quantize(FEN):,}元"


LedgerKind = Literal["advance", "settlement", "clawback", "repayment", "lapse"]


class LedgerEntry(BaseModel):
    """One append-only row of the subsidy ledger (S2, S3, PD6).

    ``advance``: paid to the center for ``year`` (counts against that year's city cap, PD6).
    ``settlement``: the amount the performance assessment found due for ``year`` (S2; may be 0).
    ``clawback``: owed back by the center for ``year`` (S2 excess, or S3 unused subsidy).
    ``repayment``: repaid by the center against the clawback of ``year``.
    ``lapse``: S3, PD11: the center was not designated in time and gets no further subsidy, in any
    lifecycle (amount 0; ``year`` is the year of the first advance).
    """

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, description="Idempotency key, unique across the ledger")
    center_id: str
    year: int = Field(ge=2000, le=9999, description="The subsidy year (calendar year) the entry is about")
    kind: LedgerKind
    amount_yuan: Yuan
    actor: str = Field(min_length=1, description="Who: 'role: name' of the staff member, or 'system'")
    rule_id: str = Field(description="S1/S2/S3/PD6: the rule under which the entry is made")
    at: datetime = Field(description="Workflow time of the entry (UTC)")
    reference: str | None = Field(default=None, description="Payment order, assessment report or receipt reference")

    @model_validator(mode="after")
    def _positive_money(self) -> LedgerEntry:
        if self.kind not in ("settlement", "lapse") and self.amount_yuan <= 0:
            raise ValueError(f"a {self.kind} entry needs a positive amount")
        return self


class AdvanceRequest(BaseModel):
    """Argument of the ``reserve_advance`` activity (PD6): the entry, and the cap it must fit under."""

    entry: LedgerEntry
    cap_yuan: PositiveYuan = Field(description="S1, PD6: the yearly city cap in the center's frozen policy (PD8)")


class AdvanceRequestPD11(AdvanceRequest):
    """Argument of ``reserve_subsidy_advance`` (S1, S2, S3, PD11, PD12): the per-center limits too."""

    max_years: int = Field(ge=1, description="S1, PD11: the subsidy years Y..Y+max_years-1 from the first advance")


class LedgerRefusal(BaseModel):
    """Why the ledger refused an advance: the rule and the payload field, for the user."""

    rule_id: str
    field: str
    message: str


class AdvanceReservation(BaseModel):
    """Result of ``reserve_subsidy_advance``: the stored advance, or why it was refused (nothing written)."""

    entry: LedgerEntry | None = None
    refusal: LedgerRefusal | None = None


class SubsidyYear(BaseModel):
    """S1, S2: one subsidy year of this center: its advance and, once assessed, the amount due."""

    year: int
    advance_yuan: Yuan
    granted_at: datetime
    granted_by: str
    payment_ref: str
    ledger_key: str
    settled_at: datetime | None = None
    amount_due_yuan: Yuan | None = Field(default=None, description="S2: fixed by the performance assessment")
    assessment_ref: str | None = None

    @property
    def settled(self) -> bool:
        return self.amount_due_yuan is not None


class Clawback(BaseModel):
    """S2 (advance beyond the amount due) or S3 (unused subsidy at the designation deadline): owed back."""

    id: str = Field(description="Also the id of its deadline on the agenda")
    year: int
    rule_id: Literal["S2", "S3"]
    amount_yuan: Yuan
    repaid_yuan: Yuan = ZERO
    opened_at: datetime
    due_on: date = Field(description="Repay by 24:00 Asia/Shanghai of this day (policy.clawback_due_days)")
    closed_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outstanding_yuan(self) -> Decimal:
        return self.amount_yuan - self.repaid_yuan

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SubsidyRecord(BaseModel):
    """What the lifecycle needs to know about the center's money (the ledger is in PostgreSQL)."""

    years: list[SubsidyYear] = Field(default_factory=list, description="S1: one entry per subsidized year, in order")
    clawbacks: list[Clawback] = Field(default_factory=list, description="S2, S3: owed back, open or repaid")
    first_advance_on: date | None = Field(default=None, description="PD5: the S3 deadline runs from this day")
    s3_deadline_at: datetime | None = Field(default=None, description="S3: designation due by (UTC); kept for the record")
    s3_lapsed: bool = Field(False, description="S3: not designated in time: no further advance")
    s3_lapsed_at: datetime | None = None

    def year(self, year: int) -> SubsidyYear | None:
        return next((y for y in self.years if y.year == year), None)

    def clawback(self, year: int) -> Clawback | None:
        return next((c for c in self.clawbacks if c.year == year), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def years_granted(self) -> list[int]:
        return [y.year for y in self.years]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def advanced_yuan(self) -> Decimal:
        return sum((y.advance_yuan for y in self.years), ZERO)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def clawed_back_yuan(self) -> Decimal:
        return sum((c.amount_yuan for c in self.clawbacks), ZERO)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outstanding_yuan(self) -> Decimal:
        """Owed back and not yet repaid."""
        return sum((c.outstanding_yuan for c in self.clawbacks), ZERO)

    @property
    def open_clawbacks(self) -> list[Clawback]:
        return [c for c in self.clawbacks if c.open]


# -- reports (db/ledger.py) ------------------------------------------------------------------------


class YearBalance(BaseModel):
    """One center's money for one subsidy year, derived from the ledger."""

    center_id: str
    year: int
    advanced_yuan: Yuan = ZERO
    due_yuan: Yuan | None = Field(default=None, description="S2: None until the year is settled")
    clawed_back_yuan: Yuan = ZERO
    repaid_yuan: Yuan = ZERO

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outstanding_yuan(self) -> Decimal:
        """Clawed back and not yet repaid."""
        return self.clawed_back_yuan - self.repaid_yuan

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_yuan(self) -> Decimal:
        """What the center keeps once every clawback is repaid."""
        return self.advanced_yuan - self.clawed_back_yuan


class CityTotals(BaseModel):
    """PD6: the city's advances for one calendar year against the cap."""

    year: int
    cap_yuan: Yuan | None = Field(description="The cap last applied to this year (None: no advance yet)")
    advanced_yuan: Yuan = ZERO
    clawed_back_yuan: Yuan = ZERO
    repaid_yuan: Yuan = ZERO
    centers: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def headroom_yuan(self) -> Decimal | None:
        """PD6: clawbacks and repayments do not restore headroom (docs/money.md)."""
        return None if self.cap_yuan is None else self.cap_yuan - self.advanced_yuan
