"""compute_notice_end run as a real activity, without a server (D7, PD2)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.calendar import compute_notice_end
from models.calendar import NoticeEndRequest
from rules import calendar


async def test_pd2_d7_activity_computes_notice_end() -> None:
    request = NoticeEndRequest(published_on=date(2025, 9, 26), working_days=5)
    ends_at = await ActivityEnvironment().run(compute_notice_end, request)
    assert ends_at == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)  # 24:00 of 2025-10-09, Shanghai


async def test_pd2_activity_uncovered_year_is_non_retryable(shipped_calendar_only) -> None:
    request = NoticeEndRequest(published_on=date(2199, 3, 2), working_days=5)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(compute_notice_end, request)
    assert caught.value.type == "CalendarNotCovered"
    assert caught.value.non_retryable
    assert "2199" in caught.value.message and "PD2" in caught.value.message


def test_d7_request_needs_at_least_one_working_day() -> None:
    with pytest.raises(ValueError):
        NoticeEndRequest(published_on=date(2025, 9, 26), working_days=0)


async def test_pd2_activity_invalid_override_file_is_non_retryable(shipped_calendar_only) -> None:
    calendar.use_overrides_file(Path("/nonexistent/working_days.toml"))  # shipped_calendar_only restores
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            compute_notice_end, NoticeEndRequest(published_on=date(2025, 9, 26), working_days=5)
        )
    assert caught.value.type == "CalendarDataInvalid"
    assert caught.value.non_retryable
