"""The actor and envelope every staff action carries (INTERFACE.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.directory import County, Role
from models.text import Line

REQUEST_ID = r"^[A-Za-z0-9._-]+$"
REQUEST_ID_MAX = 120


class Actor(BaseModel):
    """Who sends an action: name, role and, for county departments, their county."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Line(100) = Field(description="The person's name as staff know it")
    role: Role
    county: County | None = Field(default=None, description="Required for county_department")
    user_id: str | None = Field(default=None, max_length=120,
                                description="The signed-in user's stable id (set by the portal)")


class Action(BaseModel):
    """Base of every action payload: who sends it and the client-chosen idempotency key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    actor: Actor
    request_id: str = Field(
        min_length=1, max_length=REQUEST_ID_MAX, pattern=REQUEST_ID,
        description="Client-chosen; a repeat returns the first result. Letters, digits, '.', '_' and '-' only: "
        "it becomes part of idempotency keys, whose parts are joined with ':'",
    )
