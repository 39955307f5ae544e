"""The working-day calendar as an activity (D7, PD2).

The calendar's data changes every year (a new State Council notice, an override file), so the
workflow asks an activity and records the answer in its history instead of computing it itself:
a running workflow never changes its deadline when the data is later extended.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.calendar import NoticeEndRequest, PeriodEndsAnswer, PeriodEndsRequest
from rules.calendar import CalendarNotCovered, OverrideFileError, default_calendar, notice_end
from rules.periods import answer_period_ends

log = structlog.get_logger(__name__)


@activity.defn(name="compute_notice_end")
async def compute_notice_end(request: NoticeEndRequest) -> datetime:
    """D7, PD2: 24:00 Asia/Shanghai (as UTC) of the notice's last working day.

    Both failures are non-retryable: a person must add or fix calendar data, so retrying would only
    hold the staff action open. The workflow turns the message into a refusal the user reads.
    """
    try:
        ends_at = notice_end(request.published_on, request.working_days)
    except CalendarNotCovered as err:
        log.warning("calendar_not_covered", year=err.year, published_on=str(request.published_on))
        raise ApplicationError(str(err), {"rule_id": "PD2", "year": err.year},
                               type="CalendarNotCovered", non_retryable=True) from err
    except OverrideFileError as err:
        log.error("calendar_overrides_invalid", error=str(err))
        raise ApplicationError(err.for_staff(),
                               {"rule_id": "PD2"}, type="CalendarDataInvalid", non_retryable=True) from err
    log.info("notice_end_computed", published_on=str(request.published_on),
             working_days=request.working_days, ends_at=ends_at.isoformat())
    return ends_at


@activity.defn(name="settle_period_ends")
async def settle_period_ends(request: PeriodEndsRequest) -> PeriodEndsAnswer:
    """PD10: the legal last day of each nominal last day the calendar data can settle today.

    Never fails on missing or invalid data: the answer says which years are missing (or what is
    wrong), the workflow keeps those ends provisional, and holds a deadline that falls due unsettled.
    """
    try:
        calendar = default_calendar()
    except OverrideFileError as err:
        log.error("calendar_overrides_invalid", error=str(err))
        return PeriodEndsAnswer(problem=err.for_staff())
    answer = answer_period_ends(request.nominal, calendar)
    if answer.missing_years:
        log.warning("period_ends_provisional", missing_years=answer.missing_years)
    return answer
