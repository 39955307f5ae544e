"""Who is signed in, and what they may see and do (issue 10). Pure: no I/O.

Identity enters at the edge (the portal's session or token, OIDC claims, the staff directory);
from here on the actor of every action is built from the signed-in user, never from a form.
Scoping: the city bureau sees every center, a county department its county's centers, an
implementing entity the center(s) it is bound to.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.actor import Actor
from models.directory import County, Role
from models.phase import Phase
from rules.catalog import ACTIONS

STAFF_ROLES = (Role.CITY_BUREAU, Role.COUNTY_DEPARTMENT, Role.IMPLEMENTING_ENTITY)


class StaffUser(BaseModel):
    """One person who signs in: a row of the staff directory, or the claims of an OIDC sign-in."""

    model_config = ConfigDict(frozen=True)
    user_id: str = Field(min_length=1, max_length=120, description="Stable id, recorded in the audit log")
    username: str = Field(min_length=1, max_length=100)
    display_name: str = Field(min_length=1, max_length=100)
    role: Role
    county: County | None = None
    center_ids: tuple[str, ...] = ()
    email: str | None = None
    demo: bool = False
    disabled: bool = False

    @model_validator(mode="after")
    def _bound(self) -> "StaffUser":
        if self.role is Role.PUBLIC:
            raise ValueError("role: the public does not sign in")
        if self.role is Role.COUNTY_DEPARTMENT and self.county is None:
            raise ValueError("county: a county department user needs a county")
        return self

    def actor(self) -> Actor:
        """The actor of every action this user sends: from the identity, never from the payload."""
        county = self.county if self.role is Role.COUNTY_DEPARTMENT else None
        return Actor(name=self.display_name, role=self.role, county=county, user_id=self.user_id)

    @property
    def counties(self) -> list[str] | None:
        """Counties whose centers this user sees; None = all (bureau)."""
        if self.role is Role.COUNTY_DEPARTMENT:
            return [self.county.value] if self.county else []
        return None

    @property
    def centers(self) -> list[str] | None:
        """Centers this user is bound to; None = not bound to centers (bureau, county)."""
        return list(self.center_ids) if self.role is Role.IMPLEMENTING_ENTITY else None

    def sees(self, center_id: str, county: str) -> bool:
        """IDOR guard: may this user see (and so act on) the center at all?"""
        if self.role is Role.CITY_BUREAU:
            return True
        if self.role is Role.COUNTY_DEPARTMENT:
            return self.county is not None and county == self.county.value
        return center_id in self.center_ids

    def actions_for(self, phase: Phase) -> list[str]:
        """The actions this user's role may take in ``phase`` (the registry's roles and phases)."""
        return [name for name, spec in ACTIONS.items()
                if self.role in spec.roles and (spec.phases is None or phase in spec.phases)]

    def may_register(self, county: County) -> bool:
        """Register a center: the bureau anywhere, a county department in its own county."""
        return self.role is Role.CITY_BUREAU or (self.role is Role.COUNTY_DEPARTMENT and self.county == county)
