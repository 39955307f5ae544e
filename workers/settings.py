"""Runtime configuration, read from environment variables (and an optional `.env` file).

Every field is one env var of the same name; `.env.example` lists them all.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings shared by the worker, the dev stack and the CLI.

    Field `smtp_host` is read from env var SMTP_HOST (names are case-insensitive), and
    `Settings(smtp_host=...)` or `Settings(SMTP_HOST=...)` both work in code and tests.
    """

    # `.env` is optional; real env vars win over it. Unknown keys are ignored so one
    # `.env` can also carry variables for docker compose (e.g. POSTGRES_PASSWORD).
    # Empty values count as unset: compose passes `${SMTP_PASSWORD:-}` as "".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port (gRPC).")
    temporal_namespace: str = Field("default", description="Temporal namespace holding the center workflows.")
    task_queue: str = Field("innovation-centers", description="Task queue the worker polls (part of the public interface).")
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql://user:pass@host:5432/db). "
        "Unset: an embedded PostgreSQL (pgserver) is started under VAR_DIR/pg.",
    )
    var_dir: Path = Field(
        Path("./var"),
        description="Local state of the dev stack: temporal.sqlite, temporal.log, pg/ and mail/.",
    )
    smtp_host: str = Field("localhost", description="SMTP server that notifications are sent through.")
    smtp_port: int = Field(8025, description="SMTP port (8025 is the local sink of `make run`).")
    smtp_username: str | None = Field(None, description="SMTP login; unset means no AUTH.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password; never logged.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field(
        "舟山市科技局 <no-reply@kjj.zhoushan.example>",
        description="From header of every notification.",
    )
    temporal_ui_port: int = Field(8233, description="Port of the dev server's Web UI (make run).")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="auto: console renderer on a TTY, JSON lines otherwise.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
