"""The SMTP sink stores each accepted message as an .eml file."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import aiosmtplib

from workers.smtp_sink import eml_name, start_sink
from workers.temporal_dev import free_port


async def test_message_is_stored_as_eml(tmp_path: Path) -> None:
    port = free_port()
    mail_dir = tmp_path / "mail"
    controller = start_sink("127.0.0.1", port, mail_dir)
    try:
        message = EmailMessage()
        message["From"] = "舟山市科技局 <no-reply@kjj.zhoushan.example>"
        message["To"] = "lead@center.example"
        message["Subject"] = "年度报告提醒 / Annual report due"
        message["Message-ID"] = "<center-42.M7.2025@kjj.zhoushan.example>"
        message.set_content("请于3月31日前提交年度报告。\n\nPlease submit the annual report by 31 March.")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
    finally:
        controller.stop()

    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == 1
    assert files[0].name.endswith("_center-42.M7.2025@kjj.zhoushan.example.eml")
    stored = email.message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert stored["X-Sink-Envelope-To"] == "lead@center.example"
    assert stored["Subject"] == "年度报告提醒 / Annual report due"
    assert stored["Message-ID"] == "<center-42.M7.2025@kjj.zhoushan.example>"
    assert "请于3月31日前提交年度报告" in stored.get_content()
    assert not list(mail_dir.glob(".*.tmp"))  # written atomically


def test_eml_name_is_sanitized() -> None:
    name = eml_name("<a/b\\c d:e@x.example>")
    assert name.endswith("_a_b_c_d_e@x.example.eml")
    assert "/" not in name and " " not in name
    assert "no-message-id-" in eml_name(None)
