"""An update that the workflow's validator refused, reported back to the workflow to be audited.

A validator cannot write anything (its refusal never reaches history), so the staff layer, which
saw the refusal, signals ``refusal_noted`` with this note. The workflow judges the action again and
writes the audit row itself; the note can never apply an action.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.actor import REQUEST_ID, REQUEST_ID_MAX
from models.text import Identifier, Line, Paragraph

REFUSAL_NOTED = "refusal_noted"


def valid_request_id(value: str) -> bool:
    """A request_id an action could have carried (letters, digits, '.', '_', '-'; at most 120)."""
    return 0 < len(value) <= REQUEST_ID_MAX and re.fullmatch(REQUEST_ID, value) is not None


class ReportedRefusal(BaseModel):
    """What the validator answered, as the caller saw it (used only if the state has since changed)."""

    model_config = ConfigDict(extra="forbid")
    rule_id: Line(40)
    field: Line(200)
    message: Paragraph(2000)


class RefusalNote(BaseModel):
    """The refused action's name and payload (already shape-checked by the caller), and the answer."""

    model_config = ConfigDict(extra="forbid")
    action: Identifier
    payload: dict[str, Any] = Field(description="The refused action's payload, as it was sent")
    reported: ReportedRefusal
