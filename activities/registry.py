"""Every activity the worker registers, in one list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from activities.calendar import compute_notice_end, settle_period_ends
from activities.designation import DesignationActivities
from activities.ledger import LedgerActivities
from activities.monitoring import MonitoringActivities
from activities.outcomes import OutcomeActivities
from models.mail import SmtpSettings


def build_activities(pool: asyncpg.Pool, settings: Any) -> list[Callable[..., Any]]:
    """Bound methods of every activity class, plus the plain activity functions.

    `settings` is workers.settings.Settings (or anything with its SMTP attributes).
    """
    outcomes = OutcomeActivities(pool, SmtpSettings.from_settings(settings))
    ledger = LedgerActivities(pool)
    return [
        outcomes.record_outcomes,
        outcomes.deliver_mail,
        outcomes.find_active_bans,
        compute_notice_end,
        settle_period_ends,
        ledger.reserve_advance,
        ledger.reserve_subsidy_advance,
        DesignationActivities(pool).find_live_centers_named,
        MonitoringActivities(pool, getattr(settings, "centers_offices_file", None)).load_status_board,
    ]
