"""Mail settings and the notification outbox as the mailer sees them (PD9, DESIGN.md outbox)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class SmtpSettings(BaseModel):
    """How to reach the SMTP server; built from the worker's Settings."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = Field(ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    use_tls: bool = Field(False, description="Implicit TLS from the first byte (port 465), instead of STARTTLS")
    mail_from: str = Field(description="From header; may carry a display name: '舟山市科技局 <no-reply@…>'")
    timeout_seconds: float = Field(30.0, gt=0, description="Per SMTP command; a stuck server fails the attempt")
    retry_base_seconds: float = Field(5.0, gt=0, description="Backoff after the first temporary failure, doubled each time")
    retry_max_seconds: float = Field(900.0, gt=0, description="Longest wait between two tries of one message")
    lease_seconds: float = Field(300.0, gt=0, description="A sender's claim on a row; a crashed sender's lease expires")
    ca_file: Path | None = Field(None, description="PEM bundle that signs the server's certificate (private CA)")

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.starttls and self.use_tls:
            raise ValueError("SMTP_STARTTLS and SMTP_TLS exclude each other: STARTTLS upgrades a plain "
                             "connection (port 587), SMTP_TLS is TLS from the first byte (port 465)")
        return self

    @property
    def security(self) -> str:
        """none, starttls or tls (implicit), for logs and docs."""
        return "tls" if self.use_tls else "starttls" if self.starttls else "none"

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpSettings:
        """From the worker's Settings; takes smtp_host or SMTP_HOST spellings alike
        (workers.settings.Settings spells its fields in upper case)."""

        missing = object()

        def get(name: str, default: Any = missing) -> Any:
            for attr in (name, name.upper()):
                if hasattr(settings, attr):
                    return getattr(settings, attr)
            if default is not missing:
                return default
            raise AttributeError(f"settings has no {name} (nor {name.upper()})")

        return cls(
            host=get("smtp_host"),
            port=get("smtp_port"),
            username=get("smtp_username"),
            password=get("smtp_password"),
            starttls=get("smtp_starttls"),
            use_tls=get("smtp_tls", False),
            ca_file=get("smtp_ca_file", None),
            mail_from=get("mail_from"),
            # Every sender leases for the same setting: the deliver_mail activity too, not only the
            # dispatcher (a shorter lease elsewhere lets a dispatcher re-send a row still in flight).
            lease_seconds=get("centers_outbox_lease_seconds", cls.model_fields["lease_seconds"].default),
        )


class UndeliveredMail(BaseModel):
    """An outbox row not delivered yet (retrying) or failed for good: shown to staff (M5 board, centers show)."""

    key: str
    center_id: str
    subject: str
    created_at: datetime
    attempts: int
    last_error: str | None = None
    failed: bool = False


class OutboxEntry(BaseModel):
    """One row of the notification outbox, with its delivery state (for reports and tests)."""

    key: str
    center_id: str
    recipients: list[str]
    subject: str
    body: str
    rule_id: str | None = None
    message_id: str
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    failed_at: datetime | None = None
