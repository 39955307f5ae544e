"""PostgreSQL errors that a retry cannot cure (issue 9).

SQLSTATE class 22 (data exception: NUL in text, a number out of range) and class 23 (integrity
constraint violation) fail the same way on every attempt; retried, they would hold a lifecycle
forever. Activities raise them as non-retryable application errors instead, which the workflow
turns into a refusal (facts) or a recorded failure (outcomes), and the lifecycle goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import structlog
from temporalio.exceptions import ApplicationError

log = structlog.get_logger(__name__)

PERMANENT = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def permanent_database_errors_fail_fast(fn: F) -> F:
    """Wrap an activity: a class 22/23 error becomes a non-retryable ``DatabaseRefused`` error."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except PERMANENT as err:
            log.error("database_refused", activity=fn.__name__, sqlstate=err.sqlstate, error=str(err)[:300])
            raise ApplicationError(
                f"the database refused this ({err.sqlstate}): {err}"[:1000], {"sqlstate": err.sqlstate},
                type="DatabaseRefused", non_retryable=True,
            ) from err

    return wrapper  # type: ignore[return-value]
