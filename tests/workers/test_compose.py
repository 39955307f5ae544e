"""docker-compose.yml wires the services as documented, registers our search attributes, holds no secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.search_attributes import ALL, CLI_TYPES

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
# The only literal allowed near a secret: the local postgres default, behind a variable.
ALLOWED_DEFAULT = re.compile(r"^\$\{POSTGRES_PASSWORD:-[\w-]+\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_services(compose: dict[str, Any]) -> None:
    assert {"postgres", "temporal", "mailpit", "worker"} <= set(compose["services"])
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in compose["services"]["postgres"]
    worker = compose["services"]["worker"]
    assert "build" in worker
    assert "centers-worker" in str(worker["command"])


def test_temporal_registers_every_search_attribute(compose: dict[str, Any]) -> None:
    command = compose["services"]["temporal"]["command"]
    words = command.split() if isinstance(command, str) else [str(word) for word in command]
    assert words[:2] == ["server", "start-dev"]
    registered = {words[i + 1] for i, word in enumerate(words) if word == "--search-attribute"}
    for key in ALL:
        assert f"{key.name}={CLI_TYPES[key.name]}" in registered, key.name
    assert "--db-filename" in words  # survives a container restart


def test_worker_environment(compose: dict[str, Any]) -> None:
    env = _env(compose["services"]["worker"])
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"]


def test_no_literal_secret(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if SECRET_KEY.search(key):
                assert value.startswith("${"), f"{name}.{key} is a literal"
                assert ":-}" in value or ALLOWED_DEFAULT.match(value), f"{name}.{key} has a default secret"
            # credentials inside URLs must come from a variable too
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert ALLOWED_DEFAULT.match(password), f"{name}.{key} embeds a literal password"
