"""Runtime configuration, read from environment variables (and an optional `.env` file).

Every field is one env var of the same name; `.env.example` lists them all.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules import calendar


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
    temporal_profile: str | None = Field(
        None, description="Profile of the Temporal client config file (temporalio.envconfig: address, namespace, "
        "TLS, mTLS, API key); unset: the file's `default` profile, if there is a file.",
    )
    temporal_config_file: Path | None = Field(
        None, description="Temporal client config file (TOML); unset: TEMPORAL_CONFIG_FILE's usual places "
        "(~/.config/temporalio/temporal.toml). TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, when set, win over it.",
    )
    temporal_api_key: SecretStr | None = Field(
        None, description="API key for Temporal Cloud or a cluster that wants one (turns TLS on); never logged.",
    )
    task_queue: str = Field("innovation-centers", description="Task queue the worker polls (part of the public interface).")
    max_cached_workflows: int = Field(
        1000, ge=0, le=100_000,
        description="Lifecycles a worker keeps in memory between wake-ups (about 130 KiB each, docs/performance.md); "
        "one evicted from the cache replays its current run when it next wakes.",
    )
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
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS (port 587).")
    smtp_tls: bool = Field(False, description="Implicit TLS from the first byte (SMTPS, port 465); "
                           "excludes SMTP_STARTTLS.")
    smtp_ca_file: Path | None = Field(None, description="CA bundle (PEM) that signs the SMTP server's certificate, "
                                      "for a private CA; unset: the system's trust store.")
    mail_from: str = Field(
        "舟山市科技局 <no-reply@kjj.zhoushan.example>",
        description="From header of every notification.",
    )
    centers_outbox_lease_seconds: float = Field(
        300.0, ge=1.0, le=3600.0,
        description="Seconds an outbox dispatcher holds a row it is sending; a row whose sender died (killed "
        "between the relay's 250 and marking it sent) is sent again, same Message-ID, once this expires. Keep it "
        "above the longest SMTP exchange (SMTP timeout 30 s per command): a shorter lease lets another worker send "
        "a row still in flight.",
    )
    temporal_ui_port: int = Field(8233, description="Port of the dev server's Web UI (make run).")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="auto: console renderer on a TTY, JSON lines otherwise.",
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Port of the worker's Prometheus endpoint (SDK metrics, `temporal_*`); "
        "unset: no metrics endpoint.",
    )
    health_port: int | None = Field(
        None, ge=1, le=65535, description="Port of the worker's /healthz (alive) and /readyz (polling, database "
        "answers) endpoints; unset: none.",
    )
    listen_host: str = Field("127.0.0.1", description="Interface the metrics and health endpoints bind "
                             "(0.0.0.0 in a container).")
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OpenTelemetry collector (OTLP/gRPC, e.g. http://otel:4317): turns on tracing of "
        "workflows and activities (needs the `otel` extra); unset: no tracing.",
    )
    migrate_on_start: bool = Field(
        True, description="Apply pending migrations when the worker starts. false: the worker's role may not "
        "change the schema (docker-compose.yml: the `migrate` job does it as the schema owner); the worker then "
        "refuses to start while a migration is pending.",
    )
    db_pool_size: int = Field(10, ge=1, description="Connections in the worker's PostgreSQL pool.")
    db_acquire_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for a pooled connection before the activity fails (and retries).",
    )
    db_command_timeout: float = Field(
        60.0, gt=0, description="Seconds a pooled query may run (migrations run on their own connection, unbounded).",
    )
    centers_offices_file: Path | None = Field(
        None, description="JSON directory of the staff mailboxes (city bureau, county departments); "
        "unset: the packaged models/data/offices.json.",
    )
    centers_working_day_overrides: Path | None = Field(
        None, description="PD2: an extra working-day override file (TOML, one table per year), read "
        "after rules/data/working_days.toml.",
    )

    portal_host: str = Field("127.0.0.1", description="Address the staff portal listens on (make run).")
    portal_port: int = Field(8400, description="Port of the staff portal (make run).")
    portal_secret_key: SecretStr | None = Field(
        None, description="Signs the portal's session cookies; unset: a random key per start (sessions end on restart).",
    )
    portal_session_minutes: int = Field(60, description="A portal session ends after this many idle minutes.")
    portal_cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only (set true behind TLS).")
    portal_demo_accounts: bool = Field(True, description="make run seeds demo accounts (marked demo) if missing.")
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer URL; set: the portal offers sign-in through it.")
    oidc_client_id: str | None = Field(None, description="The portal's client id at the OpenID Connect provider.")
    oidc_client_secret: SecretStr | None = Field(None, description="The portal's client secret there.")
    oidc_scopes: str = Field(
        "openid profile email", description="Scopes the portal asks for (add the one carrying the role claims).")
    oidc_identity_from: Literal["claims", "directory"] = Field(
        "claims",
        description="claims: role, county and centers from the ID token; directory: the staff directory by e-mail.",
    )
    oidc_role_claim: str = Field(
        "zs_role", description="Claim holding the role (city_bureau, county_department, implementing_entity).")
    oidc_county_claim: str = Field("zs_county", description="Claim holding a county department's county.")
    oidc_centers_claim: str = Field("zs_centers", description="Claim holding an implementing entity's center ids.")
    centers_portal_url: str | None = Field(
        None, description="Set: the CLI's action commands go through the portal's JSON API (with CENTERS_PORTAL_TOKEN).",
    )
    centers_portal_token: SecretStr | None = Field(
        None, description="A personal access token made on the portal's token page (for CENTERS_PORTAL_URL).",
    )

    def install_calendar(self) -> None:
        """PD2: hand the operator's working-day file to the process-wide calendar (rules.calendar),
        which workflow code reads and so cannot take settings as an argument. The offices file is
        passed where it is read (staff.service.start, MonitoringActivities)."""
        calendar.use_overrides_file(self.centers_working_day_overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once by an entry point (its calendar file installed)."""
    settings = Settings()
    settings.install_calendar()
    return settings
