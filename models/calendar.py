"""Requests to the working-day calendar activity (D7, PD2)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class NoticeEndRequest(BaseModel):
    """D7, PD2: when does a public notice of ``working_days`` working days, published on a day, end?"""

    published_on: date = Field(
        description="D7, PD1: Asia/Shanghai date the list is published; counting starts here if a working day (PD2)"
    )
    working_days: int = Field(ge=1, description="D7, PD2: length of the notice in working days (5 in the rule book)")
