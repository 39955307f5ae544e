"""Header injection: CR/LF in a center's name, a contact's name or a subject never adds a header.

Each hostile value is either refused at the door (the start input names the field) or reaches the
mail as text only: the message the SMTP server receives has exactly the expected headers, once each.
The message is built by db/mailer.py ``build_message`` and sent to the real test SMTP server.
"""

from __future__ import annotations

from datetime import datetime, timezone

import aiosmtplib
import pytest
from pydantic import ValidationError

from db.mailer import build_message, message_id_for
from models.mail import OutboxEntry
from models.profile import CenterProfile
from rules import messages
from tests.fixtures import factories as f
from tests.fixtures.states import new_state

INJECTIONS = [
    "舟山中心\r\nBcc: evil@attacker.example",
    "舟山中心\nBcc: evil@attacker.example",
    "舟山中心\rX-Injected: 1",
    "舟山中心\r\n\r\n<html>body smuggled</html>",
    "舟山中心\u2028Bcc: evil@attacker.example",
    "舟山中心\x85Bcc: evil@attacker.example",
    "=?utf-8?q?x=0D=0ABcc:_evil@attacker.example?=",
    "舟山中心\r\n Bcc: evil@attacker.example",  # a folded continuation line
]
EXPECTED = ["Message-ID", "Date", "From", "To", "Subject", "Auto-Submitted", "X-Center-Id", "X-Rule-Id",
            "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]


def entry_for(subject: str) -> OutboxEntry:
    key = "c-inject:1:opened"
    return OutboxEntry(key=key, center_id="c-inject", recipients=["wangmin@center.example"], subject=subject,
                       body="正文\r\nBcc: evil@attacker.example\n", rule_id="D1", message_id=message_id_for(key),
                       created_at=datetime(2026, 11, 29, tzinfo=timezone.utc))


async def received_headers(smtp_server, smtp_settings, entry: OutboxEntry) -> list[str] | None:
    """The header names the SMTP server received, or None when the mailer refused to build it."""
    try:
        message = build_message(entry, smtp_settings.mail_from)
    except ValueError as err:  # the stdlib email policy refuses CR/LF in a header value
        assert "linefeed or carriage return" in str(err)
        return None
    smtp_server.clear()
    await aiosmtplib.send(message, hostname=smtp_settings.host, port=smtp_settings.port)
    (got,) = smtp_server.messages
    assert got["Message-ID"] == entry.message_id
    assert not any("attacker" in addr for addr in smtp_server.envelopes[0][1])
    return list(got.keys())


# Python 3.11.7's email package writes the CR/LF of a decoded RFC 2047 word out raw (CVE-2024-6923,
# fixed in 3.11.10): models.text.header_safe breaks encoded words up before a header is built.


@pytest.mark.parametrize("hostile", INJECTIONS)
async def test_crlf_in_a_subject_never_adds_a_header(hostile, smtp_server, smtp_settings):
    headers = await received_headers(smtp_server, smtp_settings, entry_for(f"[D1] {hostile}"))
    assert headers is None or sorted(headers) == sorted(EXPECTED)


@pytest.mark.parametrize("hostile", INJECTIONS)
@pytest.mark.parametrize("where", ["proposed_name", "contact_name"])
async def test_crlf_in_a_center_or_contact_name_never_adds_a_header(hostile, where, smtp_server, smtp_settings):
    changes = ({"proposed_name": hostile} if where == "proposed_name" else
               {"contacts": [{"name": hostile, "email": "wangmin@center.example"}]})
    try:
        CenterProfile.model_validate(f.profile_data(**changes))
    except ValidationError as err:  # refused at the door, naming the field
        assert err.errors()[0]["loc"][0] in ("proposed_name", "contacts")
        return
    state = new_state(**changes)
    email = messages.compose(state, key="opened", to=messages.contacts(state), rule_id="D1",
                             subject_zh="测试", subject_en="test", what_zh="事项", what_en="what",
                             todo_zh="待办", todo_en="todo")
    entry = entry_for(email.subject).model_copy(update={"body": email.body, "recipients": email.to})
    headers = await received_headers(smtp_server, smtp_settings, entry)
    assert headers is None or sorted(headers) == sorted(EXPECTED)
