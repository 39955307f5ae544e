"""The one way this service connects to Temporal: worker, CLI and portal all call `connect`.

Connection settings come from `temporalio.envconfig`: a TOML profile (address, namespace, TLS with a
private CA, mTLS client certificate, API key) and the TEMPORAL_* environment variables the SDK reads
(TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_API_KEY, ...). Our own Settings add to it: TEMPORAL_ADDRESS
and TEMPORAL_NAMESPACE (also readable from `.env`) win when set; otherwise the profile's values, and
only then our defaults (localhost:7233, default).

The SDK runtime (one per process) carries the Prometheus endpoint when METRICS_PORT is set, and the
client carries the OpenTelemetry interceptor when OTEL_EXPORTER_OTLP_ENDPOINT is set.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import socket
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.settings import Settings

_runtime: Runtime | None = None
_runtime_key: str | None = None


def load_profile(settings: Settings) -> ClientConfigProfile:
    """The envconfig profile, with our settings applied on top (see the module docstring)."""
    source = settings.temporal_config_file
    if source is not None and not source.is_file():
        # envconfig would quietly fall back to no file: a mistyped path must not mean "plaintext to localhost"
        raise FileNotFoundError(f"TEMPORAL_CONFIG_FILE {source} does not exist (or is not a file)")
    env = dict(os.environ)
    if settings.temporal_api_key is not None:  # from `.env` too, not only the process environment
        env["TEMPORAL_API_KEY"] = settings.temporal_api_key.get_secret_value()
    profile = ClientConfigProfile.load(
        profile=settings.temporal_profile,
        config_source=settings.temporal_config_file,
        override_env_vars=env,
    )
    changes: dict[str, str] = {}
    if "temporal_address" in settings.model_fields_set or not profile.address:
        changes["address"] = settings.temporal_address
    if "temporal_namespace" in settings.model_fields_set or profile.namespace is None:
        changes["namespace"] = settings.temporal_namespace
    return dataclasses.replace(profile, **changes)


def connect_config(settings: Settings, identity: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`: target, namespace, TLS, API key, identity."""
    config: dict[str, Any] = dict(load_profile(settings).to_client_connect_config())
    if identity:
        config["identity"] = identity
    return config


def default_identity(role: str, user: str | None = None) -> str:
    """`<role>:<user>@<host>:<pid>`: the history shows who sent what (the staff user for the CLI/portal)."""
    try:
        who = user or getpass.getuser()
    except Exception:  # no passwd entry in a container running as an arbitrary uid
        who = "unknown"
    return f"{role}:{who}@{socket.gethostname()}:{os.getpid()}"


def runtime(settings: Settings) -> Runtime | None:
    """The process's SDK runtime with a Prometheus endpoint on METRICS_PORT; None: the SDK default.

    A runtime binds its port once, so it is made once per process (per bind address).
    """
    global _runtime, _runtime_key
    if settings.metrics_port is None:
        return None
    bind = f"{settings.listen_host}:{settings.metrics_port}"
    if _runtime is None or _runtime_key != bind:
        # Suffixes and seconds as Prometheus names them, which the dashboards of temporalio/samples-server
        # and deploy/grafana expect (temporal_activity_execution_failed_total, ..._latency_seconds_bucket).
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=bind, counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True)))
        _runtime_key = bind
    return _runtime


def interceptors(settings: Settings) -> list[Interceptor]:
    """OpenTelemetry spans for every workflow, activity, signal and update, when a collector is set."""
    if not settings.otel_exporter_otlp_endpoint:
        return []
    from workers.tracing import tracing_interceptor  # optional extra: imported only when asked for

    return [tracing_interceptor(settings.otel_exporter_otlp_endpoint)]


async def connect(settings: Settings, *, identity: str | None = None) -> Client:
    """A client speaking pydantic models (as every caller of the workflow must)."""
    return await Client.connect(
        **connect_config(settings, identity),
        data_converter=pydantic_data_converter,
        runtime=runtime(settings),
        interceptors=interceptors(settings),
    )
