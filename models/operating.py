"""Records of the operating life (M1-M4, M7). Owned by the operating-life rules (rules/operating.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OperatingRecord(BaseModel):
    """Everything the yearly cycle, rectification, major changes and revocation keep."""

    grades: dict[int, str] = Field(default_factory=dict, description="M1: grade by evaluated year")
