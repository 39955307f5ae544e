"""Action forms generated from the action's pydantic model (rules/catalog.py), and parsed back.

Each field of the payload becomes an input named by its dotted path (``checklist.compliance.
secrecy_integrity_and_ethics.evidence``): nested models become fieldsets, enums and Literals
selects, booleans a yes/no select, dates date inputs, Decimal money an amount in yuan, lists and
dicts a textarea (one item, or one ``key = value``, per line). The envelope (actor, request_id) is
never a field: the actor comes from the session and the request id from the rendered form.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from portal.labels import label_zh

ENVELOPE = ("actor", "request_id")


@dataclass
class Input:
    name: str  # dotted path
    kind: str  # text, textarea, number, money, date, select, lines, pairs
    label_en: str
    label_zh: str | None
    help: str | None
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    step: str | None = None
    maxlength: int | None = None
    soft: bool = False  # inside an optional group: the browser must not insist (the model still does)


@dataclass
class Group:
    name: str
    label_en: str
    label_zh: str | None
    help: str | None
    items: list[Input | Group]
    optional: bool = False
    repeated: bool = False  # a list of models: items are its rows (name.0, name.1, ...)


ROWS = 3  # rows offered for a list of models (contacts, partners); empty rows are left out


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed); constrained types (``Annotated[int, ...]``, e.g. models.strict.Year)
    count as their base type."""
    nullable = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation, nullable


def _max_length(info: FieldInfo) -> int | None:
    return next((getattr(m, "max_length", None) for m in info.metadata if getattr(m, "max_length", None)), None)


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def build(model: type[BaseModel], prefix: str = "", soft: bool = False) -> list[Input | Group]:
    """The inputs of ``model`` (envelope left out at the top level); ``soft`` inside optional groups."""
    items: list[Input | Group] = []
    for name, info in model.model_fields.items():
        if not prefix and name in ENVELOPE:
            continue
        path = f"{prefix}{name}"
        kind, nullable = _unwrap(info.annotation)
        required = info.is_required() and not nullable
        help_ = info.description or None
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            items.append(Group(path, _humanize(name), label_zh(name), help_ or kind.__doc__,
                               build(kind, path + ".", soft or nullable), optional=nullable))
            continue
        common = dict(name=path, label_en=_humanize(name), label_zh=label_zh(name), help=help_, required=required,
                      soft=soft)
        origin = typing.get_origin(kind)
        if isinstance(kind, type) and issubclass(kind, Enum):
            items.append(Input(kind="select", options=[(m.value, m.value) for m in kind], **common))
        elif origin is typing.Literal:
            items.append(Input(kind="select", options=[(str(v), str(v)) for v in typing.get_args(kind)], **common))
        elif kind is bool:
            items.append(Input(kind="select", options=[("true", "是 yes"), ("false", "否 no")], **common))
        elif kind is date:
            items.append(Input(kind="date", **common))
        elif kind is Decimal:
            items.append(Input(kind="money", step="0.01", **common))
        elif kind in (int, float):
            items.append(Input(kind="number", step="1" if kind is int else "any", **common))
        elif origin is list and isinstance(row := typing.get_args(kind)[0], type) and issubclass(row, BaseModel):
            rows = [Group(f"{path}.{i}", f"#{i + 1}", None, None, build(row, f"{path}.{i}.", True), optional=True)
                    for i in range(ROWS)]
            items.append(Group(path, _humanize(name), label_zh(name), help_, rows, repeated=True))
        elif origin is list:
            items.append(Input(kind="lines", **{**common, "required": False}))
        elif origin is dict:
            items.append(Input(kind="pairs", **{**common, "required": False}))
        else:
            length = _max_length(info)
            items.append(Input(kind="textarea" if (length or 0) > 200 else "text", maxlength=length, **common))
    return items


def _filled(group: Group, form: dict[str, str]) -> bool:
    return any((form.get(i.name) or "").strip() for i in _inputs(group.items))


def _inputs(items: list[Input | Group]) -> list[Input]:
    out: list[Input] = []
    for item in items:
        out.extend(_inputs(item.items) if isinstance(item, Group) else [item])
    return out


def _number(raw: str) -> int | float | str:
    """A number as JSON would carry it; text that is none is passed on for the model to name."""
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def parse(model: type[BaseModel], form: dict[str, str]) -> dict[str, Any]:
    """The submitted form as the payload's JSON shape (pydantic does the type checks after).

    An empty optional group (e.g. no commitment letter) becomes null, so the rule that needs it
    names it; an empty value is left out, so the model says "required" for the field.
    """
    return _parse_items(build(model), form)


def _parse_items(items: list[Input | Group], form: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in items:
        key = item.name.rsplit(".", 1)[-1]
        if isinstance(item, Group) and item.repeated:
            data[key] = [row for row in (_parse_items(r.items, form) for r in item.items if _filled(r, form))]
            continue
        if isinstance(item, Group):
            filled = any((form.get(i.name) or "").strip() for i in _inputs(item.items))
            if item.optional and not filled:
                data[key] = None
            else:
                data[key] = _parse_items(item.items, form)
            continue
        raw = (form.get(item.name) or "").strip()
        if item.kind == "lines":
            data[key] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif item.kind == "pairs":
            pairs = {}
            for line in raw.splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    pairs[k.strip()] = v.strip()
                elif line.strip():
                    pairs[line.strip()] = ""  # the model names the missing value
            data[key] = pairs
        elif raw == "":
            if not item.required:
                data[key] = None
        elif item.kind == "select" and item.options == [("true", "是 yes"), ("false", "否 no")]:
            data[key] = raw == "true"
        elif item.kind == "number":
            data[key] = _number(raw)
        else:
            data[key] = raw
    return data
