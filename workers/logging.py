"""structlog setup: JSON lines for machines, a readable console for people.

Standard-library records (temporalio, asyncpg, aiosmtpd) go through the same
processors, so the whole process emits one format.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from temporalio import activity, workflow

Format = Literal["auto", "json", "console"]

# Libraries that log every command or connection at INFO; their warnings still show.
_CHATTY = ("pgserver", "mail.log", "asyncio")


def _final_processors(fmt: Format) -> list[structlog.types.Processor]:
    """Exception formatting plus the renderer for the resolved format."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    if fmt == "console":
        return [structlog.dev.ConsoleRenderer()]  # it pretty-prints exceptions itself
    # ensure_ascii=False keeps Chinese center names readable in the log
    return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(ensure_ascii=False)]


def add_temporal_context(
    logger: object, method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Every line logged inside an activity or a workflow names its workflow id, run id and attempt.

    structlog calls from activities get them here; the SDK's own loggers put the same facts in a
    nested `temporal_activity` / `temporal_workflow` extra, which is flattened the same way.
    """
    if activity.in_activity():
        info = activity.info()
        event.setdefault("workflow_id", info.workflow_id)
        event.setdefault("run_id", info.workflow_run_id)
        event.setdefault("activity_type", info.activity_type)
        event.setdefault("attempt", info.attempt)
    elif workflow.in_workflow():
        info_w = workflow.info()
        event.setdefault("workflow_id", info_w.workflow_id)
        event.setdefault("run_id", info_w.run_id)
        event.setdefault("attempt", info_w.attempt)
    for nested in ("temporal_activity", "temporal_workflow"):
        extra = event.get(nested)
        if isinstance(extra, dict):
            for key in ("workflow_id", "run_id", "attempt", "activity_type", "workflow_type"):
                if key in extra:
                    event.setdefault(key, extra[key])
    return event


def configure_logging(fmt: Format = "auto", level: int = logging.INFO) -> None:
    """Route structlog and stdlib logging to stderr in one format.

    Safe to call more than once: the root handler is replaced, not stacked.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),  # temporalio puts workflow/activity info in `extra`
        add_temporal_context,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_final_processors(fmt)],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))

