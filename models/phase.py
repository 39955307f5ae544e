"""Phases of a center's lifecycle (INTERFACE.md, search attribute CenterPhase)."""

from enum import StrEnum


class Phase(StrEnum):
    PREPARING = "preparing"
    COUNTY_REVIEW = "county_review"
    CITY_EVALUATION = "city_evaluation"
    PUBLIC_NOTICE = "public_notice"
    DESIGNATED = "designated"
    RECTIFYING = "rectifying"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DELISTED = "delisted"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


ENDED = frozenset({Phase.REJECTED, Phase.WITHDRAWN, Phase.DELISTED, Phase.REVOKED, Phase.CANCELLED})
BEFORE_DESIGNATION = frozenset({Phase.PREPARING, Phase.COUNTY_REVIEW, Phase.CITY_EVALUATION, Phase.PUBLIC_NOTICE})
DESIGNATED_PHASES = frozenset({Phase.DESIGNATED, Phase.RECTIFYING})
