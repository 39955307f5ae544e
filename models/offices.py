"""The staff mailboxes a center's mail goes to (the city bureau, its county department), read from a
directory file when a lifecycle starts and frozen into its input, so a workflow never reads files."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, EmailStr

from models.directory import County


class Offices(BaseModel):
    """Staff mailboxes notified about a center, frozen into its lifecycle input."""

    model_config = ConfigDict(extra="forbid")
    city_bureau_email: EmailStr
    county_department_email: EmailStr


PACKAGED_OFFICES = Path(__file__).parent / "data" / "offices.json"


def offices_file(path: Path | None = None) -> Path:
    """The staff mailbox directory: ``path`` (``Settings.centers_offices_file``), else the packaged example."""
    return Path(path) if path is not None else PACKAGED_OFFICES


def load_offices(county: County, path: Path | None = None) -> Offices:
    """Staff mailboxes for a center in ``county``; read by the starter, frozen into the lifecycle."""
    data = json.loads(offices_file(path).read_text(encoding="utf-8"))
    return Offices(
        city_bureau_email=data["city_bureau_email"],
        county_department_email=data["county_department_emails"][county.value],
    )
