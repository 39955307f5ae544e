"""A center's profile: who it is, validated at the door (D1, D2, M6, INTERFACE.md)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator, model_validator
from stdnum.cn import uscc

from models.directory import FIELD_NAMES_ZH, County, Field as IndustryField, Route
from models.text import Line

CENTER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
# GB 32100-2015: registration authority (1-9, A, N, Y), a category digit, then the 6-digit
# administrative division (first digit 1-8, as every PRC division code). Without this, a code of
# eighteen zeros passes, since its check digit happens to be 0.
ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?")
USCC_SHAPE = re.compile(r"[1-9ANY][1-9][1-8][0-9]{5}[0-9A-Z]{10}", re.ASCII)
MAX_CONTACTS = 20
MAX_PARTNERS = 50


def check_credit_code(value: str) -> str:
    """Unified social credit code, GB 32100-2015: 18 characters, its structure and its check digit."""
    code = value.strip().upper()
    if not USCC_SHAPE.fullmatch(code) or not uscc.is_valid(code):
        raise ValueError(f"{value[:40]!r} is not a valid unified social credit code (GB 32100-2015)")
    return code


CreditCode = Annotated[str, Field(max_length=40), AfterValidator(check_credit_code)]
"""A unified social credit code, normalised to upper case."""


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(200, min_length=2)
    credit_code: str = Field(max_length=40, description="Unified social credit code (18 characters, GB 32100-2015)")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        return check_credit_code(value)


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(100)
    email: EmailStr
    phone: Line(40) | None = None


class Partner(Organisation):
    """M6: a partner unit; the implementing entity signs a cooperation agreement with each (shown at application)."""


class CenterProfile(BaseModel):
    """The center as the bureau knows it when its lifecycle starts."""

    model_config = ConfigDict(extra="forbid")

    center_id: str = Field(max_length=63, description="Stable id; the workflow id is center-<center_id>")
    proposed_name: Line(200, min_length=2) = Field(description="Working name before designation")
    route: Route = Field(description="D1: directed layout or merit-based designation")
    field: IndustryField = Field(description="D2: industry field")
    field_name_zh: Line(40) | None = Field(
        default=None, description="D2: the field's Chinese name, required for other_marine"
    )
    county: County = Field(description="County, district or functional zone whose department reviews it (D5)")
    lead_unit: Organisation = Field(description="D3 (1): the lead unit (牵头单位)")
    implementing_entity: Organisation = Field(description="实施主体: applies, builds and runs the center")
    contacts: list[Contact] = Field(min_length=1, max_length=MAX_CONTACTS, description="The center's contacts; they get reminders (PD9)")
    partners: list[Partner] = Field(default_factory=list, max_length=MAX_PARTNERS, description="M6: partner units")

    @field_validator("proposed_name", "field_name_zh")
    @classmethod
    def _no_encoded_words(cls, value: str | None) -> str | None:
        """These names go into mail subjects. Python before 3.11.10 decodes an RFC 2047 encoded word
        set in a header and writes its CR/LF out raw (CVE-2024-6923): "=?utf-8?q?=0D=0ABcc:...?="
        would add a Bcc header. No center's name contains "=?", so it is refused."""
        if value is not None and ENCODED_WORD.search(value):
            raise ValueError('must not contain an RFC 2047 encoded word ("=?charset?q?...?=")')
        return value

    @field_validator("center_id")
    @classmethod
    def _center_id(cls, value: str) -> str:
        if not CENTER_ID.match(value):
            raise ValueError("center_id must be 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _field_name(self) -> CenterProfile:
        if self.field is IndustryField.OTHER_MARINE and not self.field_name_zh:
            raise ValueError("field_name_zh is required when field is other_marine (D2)")
        return self

    @field_validator("contacts")
    @classmethod
    def _distinct_contacts(cls, contacts: list[Contact]) -> list[Contact]:
        """One contact per mailbox: a duplicate would get every reminder twice (PD9)."""
        seen: set[str] = set()
        for contact in contacts:
            if str(contact.email).lower() in seen:
                raise ValueError(f"{contact.email} is listed twice")
            seen.add(str(contact.email).lower())
        return contacts

    @field_validator("partners")
    @classmethod
    def _distinct_partners(cls, partners: list[Partner], info: ValidationInfo) -> list[Partner]:
        """M6: each partner once, and none of them the implementing entity itself."""
        entity = info.data.get("implementing_entity")
        codes = [p.credit_code for p in partners]
        for i, code in enumerate(codes):
            if code in codes[:i]:
                raise ValueError(f"{code} is listed twice (M6)")
            if entity is not None and code == entity.credit_code:
                raise ValueError(f"{code} is the implementing entity itself, not a partner (M6)")
        return partners

    @property
    def field_zh(self) -> str:
        return self.field_name_zh or FIELD_NAMES_ZH[self.field]

    @property
    def designated_name(self) -> str:
        """D7: every designated center is named 舟山市××产业创新中心, ×× = its field."""
        return f"舟山市{self.field_zh}产业创新中心"

    @property
    def contact_emails(self) -> list[str]:
        return [str(c.email) for c in self.contacts]
