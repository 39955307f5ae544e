"""Connections from the settings: Temporal through an envconfig profile (TLS, mTLS, API key), SMTP with
no TLS, STARTTLS or implicit TLS (port 465), with or without login."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from temporalio.service import TLSConfig

from db.mailer import _connect
from models.mail import SmtpSettings
from tests.workers.tls_support import make_certs
from workers.settings import Settings
from workers.temporal_dev import free_port
from workers.temporal_client import connect_config, default_identity

# -- Temporal ----------------------------------------------------------------------------------------


def _config_file(tmp_path: Path) -> Path:
    certs = make_certs(tmp_path)
    path = tmp_path / "temporal.toml"
    path.write_text(f"""
[profile.default]
address = "localhost:7233"

[profile.prod]
address = "temporal.kjj.zhoushan.example:7233"
namespace = "innovation-centers"

[profile.prod.tls]
server_name = "temporal.kjj.zhoushan.example"
server_ca_cert_path = "{certs.ca}"
client_cert_path = "{certs.cert}"
client_key_path = "{certs.key}"

[profile.cloud]
address = "innovation-centers.a1b2c.tmprl.cloud:7233"
namespace = "innovation-centers.a1b2c"
api_key = "from-the-file"
""")
    return path


@pytest.fixture
def clean_temporal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads TEMPORAL_* from the environment; a developer's own must not steer these tests."""
    import os

    for name in [n for n in os.environ if n.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)


def test_tls_profile_loads_from_a_file(tmp_path: Path, clean_temporal_env: None) -> None:
    path = _config_file(tmp_path)
    config = connect_config(Settings(temporal_config_file=path, temporal_profile="prod", _env_file=None),
                            identity="centers-cli:李华@desk:1")
    assert config["target_host"] == "temporal.kjj.zhoushan.example:7233"
    assert config["namespace"] == "innovation-centers"
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.domain == "temporal.kjj.zhoushan.example"
    assert tls.server_root_ca_cert == (tmp_path / "ca.pem").read_bytes()  # read from the path (private CA)
    assert tls.client_cert == (tmp_path / "server.pem").read_bytes()  # mTLS
    assert tls.client_private_key == (tmp_path / "server.key").read_bytes()
    assert config["identity"] == "centers-cli:李华@desk:1"


def test_api_key_profile_turns_tls_on_and_the_setting_wins(tmp_path: Path, clean_temporal_env: None) -> None:
    path = _config_file(tmp_path)
    config = connect_config(Settings(temporal_config_file=path, temporal_profile="cloud", _env_file=None))
    assert config["api_key"] == "from-the-file" and config["tls"] is True
    config = connect_config(Settings(temporal_config_file=path, temporal_profile="cloud",
                                     temporal_api_key="from-the-env", _env_file=None))
    assert config["api_key"] == "from-the-env"


def test_explicit_address_wins_over_the_profile_and_defaults_fill_in(tmp_path: Path, clean_temporal_env: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config_file(tmp_path)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "other:7233")
    config = connect_config(Settings(temporal_config_file=path, temporal_profile="prod", _env_file=None))
    assert config["target_host"] == "other:7233" and config["namespace"] == "innovation-centers"
    monkeypatch.delenv("TEMPORAL_ADDRESS")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/temporalio/temporal.toml either
    bare = connect_config(Settings(_env_file=None))
    assert bare["target_host"] == "localhost:7233" and bare["namespace"] == "default"
    assert "tls" not in bare
    with pytest.raises(FileNotFoundError, match="TEMPORAL_CONFIG_FILE"):  # a typo is an error, not plaintext
        connect_config(Settings(temporal_config_file=tmp_path / "absent.toml", _env_file=None))


def test_identity_names_the_user() -> None:
    assert default_identity("centers-cli", "李华").startswith("centers-cli:李华@")


# -- SMTP --------------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.logins: list[str] = []
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.messages.append(envelope.content)
        return "250 OK"


def _authenticator(inbox: _Inbox):  # noqa: ANN202
    def check(server, session, envelope, mechanism, data):  # noqa: ANN001
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
        if ok:
            inbox.logins.append(data.login.decode())
        return AuthResult(success=ok)
    return check


def _port_465_or_free() -> int:
    """465 when this process may bind it (root in CI), else any free port: the TLS mode is what matters."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 465))
            return 465
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


async def test_smtp_implicit_tls_on_465_with_login(tmp_path: Path) -> None:
    """SMTP_TLS=true, SMTP_PORT=465 from the environment reach aiosmtplib as TLS from the first byte."""
    certs = make_certs(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert, certs.key)
    inbox = _Inbox()
    port = _port_465_or_free()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context, server_hostname="localhost",
                            # aiosmtpd counts only STARTTLS as TLS here; the socket is TLS already (asserted below)
                            authenticator=_authenticator(inbox), auth_require_tls=False)
    controller.start()
    try:
        settings = Settings(smtp_host="localhost", smtp_port=port, smtp_tls=True, smtp_ca_file=certs.ca,
                            smtp_username="mailer", smtp_password="s3cret", _env_file=None)
        smtp = SmtpSettings.from_settings(settings)
        assert (smtp.use_tls, smtp.starttls, smtp.security) == (True, False, "tls")
        client = await _connect(smtp)
        try:
            assert client.use_tls and client.port == port
            assert client.transport.get_extra_info("ssl_object") is not None  # TLS, before any SMTP command
            await client.sendmail("no-reply@kjj.zhoushan.example", ["a@b.example"], b"Subject: t\r\n\r\nhi\r\n")
        finally:
            await client.quit()
    finally:
        controller.stop()
    assert inbox.logins == ["mailer"] and len(inbox.messages) == 1


async def test_smtp_plain_without_login_still_works(tmp_path: Path) -> None:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpSettings.from_settings(Settings(smtp_host="127.0.0.1", smtp_port=port, _env_file=None))
        assert smtp.security == "none"
        client = await _connect(smtp)
        assert client.transport.get_extra_info("ssl_object") is None
        await client.sendmail("a@b.example", ["c@d.example"], b"Subject: t\r\n\r\nhi\r\n")
        await client.quit()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_starttls_and_implicit_tls_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="SMTP_STARTTLS and SMTP_TLS"):
        SmtpSettings.from_settings(Settings(smtp_starttls=True, smtp_tls=True, _env_file=None))


# -- tracing -------------------------------------------------------------------------------------------


def test_tracing_is_off_unless_a_collector_is_named() -> None:
    from workers.temporal_client import interceptors

    assert interceptors(Settings(_env_file=None)) == []


def test_tracing_asked_for_without_the_extra_says_how_to_install_it() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT set: the TracingInterceptor, or, without the `otel` extra, a clear error."""
    from workers.temporal_client import interceptors

    settings = Settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4317", _env_file=None)
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match=r"\[otel\]"):
            interceptors(settings)
    else:
        from temporalio.contrib.opentelemetry import TracingInterceptor

        assert isinstance(interceptors(settings)[0], TracingInterceptor)
