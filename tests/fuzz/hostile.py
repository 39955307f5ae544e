"""Hypothesis strategies: an accepted payload with one hostile change, and whether it must be refused.

Each :class:`Mutation` says which field it touched (``path``) and whether the published schema
(docs/actions.md) refuses the result (``must_refuse``). A change the schema allows (an emoji in a
note, another valid grade) may be accepted or refused by a rule; either way only a Refusal may come
out, and a refusal of a schema-invalid change names the field touched.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from models.directory import County, Role

DATE_FIELDS = {"signed_on", "evaluated_on", "published_on", "happened_on", "received_on", "issued_on"}
AMOUNT_FIELDS = {"amount_yuan", "amount_due_yuan"}
YEAR_FIELDS = {"year"}
SCORE_FIELDS = {"score"}
ENUM_FIELDS = {"role", "county", "lead_unit_kind", "grade", "kind", "ground", "evaluator_kind", "outcome"}
# Optional fields a payload may omit: dropping them is allowed by the schema.
OPTIONAL_FIELDS = {"county", "evaluated_on", "materials", "partner_agreements", "year",
                   "partners", "phone", "field_name_zh",  # these three: the start input
                   "published_on", "construction_plan", "lead_unit_exception", "received_on", "name_xx"}
OPTIONAL_IN = {"year": {"grant_advance"}}
NULLABLE_FIELDS = {"county", "evaluated_on", "commitment_letter", "phone", "field_name_zh", "published_on",
                   "construction_plan", "lead_unit_exception", "received_on", "name_xx"}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutation:
    what: str
    payload: Any
    path: Path
    must_refuse: bool

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.path)


def leaves(node: Any, path: Path = ()) -> list[Path]:
    """Every path in a JSON-like payload, containers included (the root excluded)."""
    found: list[Path] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append(path + (key,))
        found.extend(leaves(value, path + (key,)))
    return found


def get(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


def replaced(payload: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(payload)
    get(new, path[:-1])[path[-1]] = value
    return new


def dropped(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    new = copy.deepcopy(payload)
    del get(new, path[:-1])[path[-1]]
    return new


# -- hostile values --------------------------------------------------------------------------------

CONTROL = st.sampled_from(["\x00", "\x01", "\x07", "\x1b", "\x7f", "\r\n", "\u0085", "\x1bP"])
BIDI = st.sampled_from(["\u200f", "\u202e", "\u2066", "\u061c", "\u200e"])
EMOJI = st.sampled_from(["😀", "🇨🇳", "👩‍🔬", "\U0001f9ea", "️"])
HUGE = st.integers(4_001, 20_000).map(lambda n: "长" * n)
TEXTY = st.one_of(
    st.text(max_size=60),
    st.tuples(st.text(max_size=20), st.one_of(CONTROL, BIDI, EMOJI), st.text(max_size=20)).map("".join),
)
WRONG_JSON = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
BAD_DATES = st.one_of(
    st.sampled_from(["1900-01-01", "1999-12-31", "9999-12-31", "0001-01-01", "2100-01-01", "2026-02-30",
                     "2026-13-01", "20260301", "2026-3-1", "2026-03-01T00:00:00", "２０２６-03-01", "", "today"]),
    st.integers(-(2**40), 2**40), st.floats(), st.booleans(), st.none(),
)
BAD_AMOUNTS = st.one_of(
    st.sampled_from(["1e3", "5_000", "١٢٣", "۱۲۳", "１２３", " 5", "5 ", "+5", "-5", "-0.01", "NaN", "Infinity",
                     "0x10", "1,000", "12.345", "1.", ".5", "", "1000000000000", "0", "0.00"]),
    st.integers(max_value=0), st.integers(min_value=10**12),
    st.floats(allow_nan=True), st.booleans(), st.none(),
)
BAD_YEARS = st.one_of(st.sampled_from([1900, 1999, 2100, 9999, -2026, 0]), st.booleans(), st.floats(),
                      st.text(max_size=6).filter(lambda s: not s.strip().isdigit()), st.none())
BAD_SCORES = st.one_of(st.sampled_from([-0.01, 100.01, math.nan, math.inf, -math.inf, True, False, "86", "1e1"]),
                       st.floats().filter(lambda x: not 0 <= x <= 100), st.none())
BAD_ENUMS = st.one_of(st.text(max_size=20), st.sampled_from(["City_Bureau", "mayor", "hangzhou", "优", "A", "fraud"]))
OTHER_COUNTIES = st.sampled_from([c.value for c in County])
ROLES = st.sampled_from([r.value for r in Role])


def _kind(key: str | int, value: Any) -> str:
    if isinstance(key, int):
        return "text"
    if key in DATE_FIELDS:
        return "date"
    if key in AMOUNT_FIELDS:
        return "amount"
    if key in YEAR_FIELDS:
        return "year"
    if key in SCORE_FIELDS:
        return "score"
    if key in ENUM_FIELDS:
        return "enum"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return "text"


def _wrong_type(kind: str, value: Any) -> bool:
    """Whether the schema refuses ``value`` for a field of ``kind``."""
    if kind in ("text", "enum", "date"):
        return not isinstance(value, str)
    if kind == "bool":
        return not isinstance(value, bool)
    if kind == "object":
        return not isinstance(value, dict)
    if kind == "list":
        return not isinstance(value, list)
    if kind == "amount":
        return not (isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**12)
    if kind == "year":
        return not (isinstance(value, int) and not isinstance(value, bool) and 2000 <= value <= 2099)
    if kind == "score":
        return not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100)
    raise AssertionError(kind)


@st.composite
def mutations(draw: st.DrawFn, name: str, payload: dict[str, Any], actor: bool = True) -> Mutation:
    """One hostile change to ``payload`` (a payload the action ``name`` accepts)."""
    paths = leaves(payload)
    path = draw(st.sampled_from(paths))
    key, value = path[-1], get(payload, path)
    kind = _kind(key, value)
    nullable = key in NULLABLE_FIELDS or (key == "year" and name == "grant_advance")
    how = draw(st.sampled_from(["wrong_type", "drop", "extra", "special", "text"] + (["actor"] if actor else [])))
    if how == "wrong_type":
        new = draw(WRONG_JSON)
        return Mutation(how, replaced(payload, path, new), path, _wrong_type(kind, new) and not (nullable and new is None))
    if how == "drop":
        optional = key in OPTIONAL_FIELDS and name in OPTIONAL_IN.get(str(key), {name})
        required = not (optional or isinstance(key, int) or path[:1] == ("partner_agreements",))
        return Mutation(how, dropped(payload, path), path, required)
    if how == "extra":
        container = path[:-1] if not isinstance(get(payload, path), dict) else path
        if isinstance(get(payload, container), dict) and container[:1] != ("partner_agreements",):
            extra = draw(st.text(min_size=1, max_size=12).filter(lambda k, c=get(payload, container): k not in c))
            new = copy.deepcopy(payload)
            get(new, container)[extra] = draw(WRONG_JSON)
            return Mutation(how, new, container + (extra,), True)
        how = "special"
    if how == "special":
        special = {"date": BAD_DATES, "amount": BAD_AMOUNTS, "year": BAD_YEARS, "score": BAD_SCORES,
                   "enum": BAD_ENUMS}.get(kind)
        if special is not None:
            new = draw(special)
            must = kind != "enum" or new not in _enum_values()
            return Mutation(f"bad_{kind}", replaced(payload, path, new), path,
                            must and _special_bad(name, kind, new) and not (nullable and new is None))
        how = "text"
    if how == "text" and kind == "text":
        new = draw(st.one_of(HUGE, TEXTY))
        return Mutation("text", replaced(payload, path, new), path, len(new) > 4_000 or new == "" or _forbidden(new))
    if not actor:
        new = draw(WRONG_JSON)
        return Mutation("wrong_type", replaced(payload, path, new), path, _wrong_type(kind, new) and not nullable)
    # actor: another role, another county, an unknown role (the rest of the payload unchanged)
    role, county = draw(st.one_of(ROLES, BAD_ENUMS)), draw(st.one_of(st.none(), OTHER_COUNTIES, BAD_ENUMS))
    actor = {**payload["actor"], "role": role, "county": county}
    unknown = role not in _enum_values() or (county is not None and county not in _enum_values())
    return Mutation("actor", {**payload, "actor": actor}, ("actor",), unknown)


# models/text.py: no text field takes a control character other than a line break (LF, CR: a
# Paragraph keeps them), a line or paragraph separator, a bidi embedding/override/isolate mark or a BOM.
FORBIDDEN = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _forbidden(text: str) -> bool:
    return bool(FORBIDDEN.search(text))


def _special_bad(name: str, kind: str, value: Any) -> bool:
    zero_allowed = name == "settle_subsidy"  # S2: an assessment may find nothing due
    if kind == "amount" and isinstance(value, int) and not isinstance(value, bool):
        return not (0 <= value if zero_allowed else 0 < value) or value >= 10**12
    if kind == "amount" and value in ("0", "0.00"):
        return not zero_allowed
    return True


def _enum_values() -> set[str]:
    from models.designation_actions import LeadUnitKind
    from models.operating import ChangeKind, Grade, RevocationGround

    values = {m.value for e in (Role, County, LeadUnitKind, Grade, ChangeKind, RevocationGround) for m in e}
    return values | {"expert_panel", "third_party", "upheld", "dismissed"}
