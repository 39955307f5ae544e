"""Sessions, CSRF tokens, rate limits and redirects of the portal (docs/security.md).

- The session is a signed (itsdangerous), HttpOnly, SameSite=Lax cookie that expires after
  PORTAL_SESSION_MINUTES idle (the signature's timestamp is checked) and 12 hours at most; it
  holds only the user id, the sign-in time and the CSRF token. Sign-in replaces the whole session
  (no fixation), and the user is read from the directory on every request (a disabled user is out).
- Every form carries the session's CSRF token; a POST without the right one gets 403.
- Failed sign-ins and public objections are rate-limited per address (and per username).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque

MAX_SESSION_SECONDS = 12 * 3600


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(session: dict, submitted: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and submitted and hmac.compare_digest(str(expected), str(submitted)))


def start_session(session: dict, user_id: str, how: str) -> None:
    """Sign-in: a brand-new session (nothing from before survives, so a planted one is useless)."""
    draft = session.get("draft")
    session.clear()
    session.update(uid=user_id, how=how, iat=int(time.time()), csrf=new_csrf())
    if draft:
        session["draft"] = draft  # the input kept across an expired session (see app.resume)


def session_user_id(session: dict) -> str | None:
    uid, iat = session.get("uid"), session.get("iat")
    if not uid or not isinstance(iat, int) or time.time() - iat > MAX_SESSION_SECONDS:
        return None
    return str(uid)


def ensure_csrf(session: dict) -> str:
    """The CSRF token of this session (an anonymous visitor gets one too, for the public forms)."""
    if not session.get("csrf"):
        session["csrf"] = new_csrf()
    return str(session["csrf"])


def safe_next(target: str | None, default: str = "/inbox") -> str:
    """Only a path on this site: no scheme, no host, no '//' or '/\\' (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target):
        return default
    return target


class RateLimit:
    """At most ``limit`` events per key in ``seconds`` (in memory: one portal process)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.events: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str, now: float) -> deque[float]:
        queue = self.events[key]
        while queue and queue[0] <= now - self.seconds:
            queue.popleft()
        return queue

    def blocked(self, *keys: str) -> int:
        """Seconds until the first of ``keys`` may try again; 0 if none is over its limit."""
        now = time.monotonic()
        waits = [int(q[0] + self.seconds - now) + 1 for k in keys if len(q := self._trim(k, now)) >= self.limit]
        return max(waits, default=0)

    def hit(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._trim(key, now).append(now)

    def clear(self, *keys: str) -> None:
        for key in keys:
            self.events.pop(key, None)
