"""Reading JSON input at the door: profiles and action payloads, with errors that name the field."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from centers.errors import BadInput
from staff.payloads import field_errors, validate  # noqa: F401  re-exported for the commands


def read_json(path: str | None = None, text: str | None = None, what: str = "input") -> Any:
    """JSON from ``--json TEXT``, a file, or '-' (stdin); a clear BadInput otherwise."""
    if text is not None and path is not None:
        raise BadInput("give either --file or --json, not both")
    if text is None:
        if path is None:
            raise BadInput(f"no {what}: give --file FILE.json or --json '{{...}}'")
        source = "stdin" if path == "-" else path
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except OSError as err:
            raise BadInput(f"cannot read {what} {source}: {err.strerror or err}") from None
    else:
        source = "--json"
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInput(f"{what} {source} is not valid JSON: line {err.lineno} column {err.colno}: {err.msg}") from None


def fill_envelope(
    payload: Any,
    *,
    request_id: str | None,
    actor_name: str | None,
    actor_role: str | None,
    actor_county: str | None,
) -> tuple[dict[str, Any], str]:
    """Fill the actor from the flags where the payload lacks it, and the request id.

    An explicit ``--request-id`` wins; else the payload's own; else a fresh uuid.
    """
    if not isinstance(payload, dict):
        raise BadInput(f"the payload must be a JSON object, not {type(payload).__name__}")
    data = dict(payload)
    flags = {"name": actor_name, "role": actor_role, "county": actor_county}
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        actor = data.get("actor")
        if actor is None:
            data["actor"] = given
        elif isinstance(actor, dict):
            data["actor"] = {**given, **actor}  # the payload's own actor fields win
    rid = request_id or (data.get("request_id") if isinstance(data.get("request_id"), str) else None)
    rid = rid or uuid.uuid4().hex
    data["request_id"] = rid
    return data, rid
