"""Payloads at the door: pydantic validation with errors that name the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from staff.errors import BadInput


def field_errors(err: ValidationError) -> list[str]:
    """One line per problem, each starting with the dotted field path."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(whole document)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "required but missing"
        elif problem["type"] == "extra_forbidden":
            message = "unknown field (not allowed)"
        lines.append(f"{where}: {message}")
    return lines


def validate(model: type[BaseModel], data: Any, what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise BadInput("\n".join(f"invalid {what}: {line}" for line in field_errors(err))) from None
