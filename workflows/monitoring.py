"""MonitoringDigest (M5): a scheduled workflow that mails the status board to the bureau and counties."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.monitoring import StatusBoard
    from models.effects import OutcomeBatch
    from rules.monitoring import status_digests
    from workflows.lifecycle import ACTIVITY_TIMEOUT, RETRY

SCHEDULE_ID = "monitoring-digest"


@workflow.defn(name="MonitoringDigest")
class MonitoringDigest:
    @workflow.run
    async def run(self) -> int:
        board = await workflow.execute_activity(
            "load_status_board", result_type=StatusBoard, start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY, summary="M5 read the status board",
        )
        emails = status_digests(board.centers, workflow.now(), board.city_email, board.county_emails,
                                board.calendar_covered_through, board.calendar_problem, board.undelivered)
        await workflow.execute_activity(
            "record_outcomes", OutcomeBatch(center_id="monitoring", emails=emails),
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, summary="M5 queue digests",
        )
        await workflow.execute_activity(
            "deliver_mail", [e.key for e in emails], result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY, summary="M5 send digests", schedule_to_close_timeout=timedelta(days=1),
        )
        return len(emails)
