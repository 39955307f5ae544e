"""Payloads of the money actions (S1-S3, PD5, PD6). Public API: see docs/money.md.

Amounts are exact yuan with fen precision: a decimal string (``"1500000.00"``) or an integer. A
float is refused, so ``0.1 + 0.2`` can never reach the ledger.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from models.actor import Action
from models.strict import Year
from models.subsidy import PositiveYuan, Yuan
from models.text import Reference

_BUREAU = {"name": "财务处 张华", "role": "city_bureau", "county": None}


class GrantAdvance(Action):
    """S1, S2, S3, PD5, PD6: the city bureau grants the advance of one subsidy year."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": _BUREAU, "request_id": "adv-2027-zs-new-materials-01",
        "year": 2027, "amount_yuan": "1000000.00", "payment_ref": "舟科拨〔2027〕3号",
    }]})

    year: Year | None = Field(
        default=None,
        description="S2: the subsidy year the advance is for: this year or next (Asia/Shanghai); this year if omitted",
    )
    amount_yuan: PositiveYuan = Field(description="S1, PD6: the advance, counted against the year's city cap")
    payment_ref: Reference = Field(description="Reference of the payment order")


class SettleSubsidy(Action):
    """S2: the performance assessment fixes the amount due for a year; any excess is clawed back."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": _BUREAU, "request_id": "settle-2027-zs-new-materials-01",
        "year": 2027, "amount_due_yuan": "800000.00", "assessment_ref": "绩效评价报告 JX-2028-07",
    }]})

    year: Year = Field(description="The subsidy year assessed")
    amount_due_yuan: Yuan = Field(description="S2: the amount actually due (0 to the advance); the rest is clawed back")
    assessment_ref: Reference = Field(description="Reference of the performance assessment")


class RecordRepayment(Action):
    """S2, S3: the bureau records a repayment against the clawback of a year (partial or in full)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": _BUREAU, "request_id": "repay-2027-zs-new-materials-01",
        "year": 2027, "amount_yuan": "200000.00", "receipt_ref": "缴款书 2028-0415",
    }]})

    year: Year = Field(description="The subsidy year whose clawback is repaid")
    amount_yuan: PositiveYuan = Field(description="Repaid now; at most what is still outstanding")
    receipt_ref: Reference = Field(description="Reference of the receipt or bank slip")
