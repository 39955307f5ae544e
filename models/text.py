"""Bounded text for every field a person types (issue 9: no input can wedge a lifecycle).

Every string that enters through a profile or an action payload is one of these types:
- ``Line``: one line, no control characters at all (names, references, codes): what may end up in
  an email header, a spreadsheet cell or a log line;
- ``Paragraph``: free text that may hold line breaks (grounds, findings), but no other control
  character, and never NUL, which PostgreSQL refuses in text.

Both have an upper bound on length, so no payload can push a workflow's state or history past
Temporal's payload limits. Bidirectional-override marks are refused too: they let a name read
differently from what it is (a spoofed center or objector name in a list).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# Unicode "Cc" (C0, DEL, C1 incl. U+0085), line/paragraph separators, bidi embedding/override/
# isolate marks, and the byte-order mark.
_FORBIDDEN_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_FORBIDDEN_IN_PARAGRAPH = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} ({name})"


def single_line(value: str) -> str:
    """Refuse any control character, line break or bidi override (names the first one found)."""
    found = _FORBIDDEN_IN_LINE.search(value)
    if found:
        raise ValueError(f"must be one line of text without control characters; found {_describe(found.group())}")
    return value


def paragraph(value: str) -> str:
    """Line breaks are kept (CRLF and CR become LF); every other control character is refused."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    found = _FORBIDDEN_IN_PARAGRAPH.search(value)
    if found:
        raise ValueError(f"must not contain control characters; found {_describe(found.group())}")
    return value


def header_safe(value: str) -> str:
    """Text composed into an email header or a filename: every control character becomes a space,
    and an RFC 2047 encoded word (``=?charset?q?...?=``) is broken up so that it stays literal text.

    Input is refused at the door already; this is the second line of defence for text that was
    stored before the door was shut (running lifecycles) or composed from several fields. Python's
    email package before 3.11.10 writes out the CR/LF of a decoded encoded word raw (CVE-2024-6923),
    so a subject must never carry one.
    """
    return _FORBIDDEN_IN_LINE.sub(" ", value).replace("=?", "= ?")


def Line(max_length: int, min_length: int = 1) -> type[str]:  # noqa: N802 (reads as a type)
    """One line of at most ``max_length`` characters."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(single_line),
    ]


def Paragraph(max_length: int, min_length: int = 1) -> type[str]:  # noqa: N802 (reads as a type)
    """Free text of at most ``max_length`` characters; line breaks allowed."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(paragraph),
    ]


# The lengths used across the payloads, in one place.
Name = Line(200)          # people, organisations, evaluators, objectors
Reference = Line(200)     # document numbers, report and payment references
Identifier = Line(80)     # ids the system handed out (objection-3, change-2)
Note = Paragraph(2000)    # short findings and evidence
Statement = Paragraph(4000)  # grounds, opinions, reasons
