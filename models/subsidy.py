"""The subsidy summary kept in the state (S1-S3, PD5, PD6). The ledger itself lives in PostgreSQL."""

from __future__ import annotations

from pydantic import BaseModel


class SubsidyRecord(BaseModel):
    """What the lifecycle needs to know about the center's money."""
