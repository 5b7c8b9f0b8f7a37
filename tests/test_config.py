"""Server settings from PARLEY_* variables and command-line overrides."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import pytest

from harness import free_port, parley
from parley.config import Retention, Settings, parse_list, parse_networks


def test_defaults_without_environment() -> None:
    """Config: an empty environment gives the documented defaults."""
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.host, s.port, s.max_message_chars) == ("127.0.0.1", 8000, 4000)
    assert s.trusted_proxies == ()


def test_from_env_reads_every_parley_variable(tmp_path: Path) -> None:
    """Config: each PARLEY_* variable sets its setting, parsed to the setting's type."""
    env = {
        "PARLEY_HOST": "0.0.0.0",
        "PARLEY_PORT": "9001",
        "PARLEY_DATA_DIR": str(tmp_path),
        "PARLEY_STORE": "redis://localhost:6379/0",
        "PARLEY_POLICIES": str(tmp_path / "policies"),
        "PARLEY_ALLOWED_ORIGINS": "https://shop.example/, https://help.example",
        "PARLEY_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        "PARLEY_MAX_MESSAGE_CHARS": "2000",
        "PARLEY_MAX_FRAME_BYTES": "32768",
        "PARLEY_SEND_TIMEOUT": "2.5",
        "PARLEY_PING_INTERVAL": "30",
        "PARLEY_TYPING_INTERVAL": "0.5",
        "PARLEY_AUTO_ASSIGN": "on",
    }
    s = Settings.from_env(env)
    assert s.host == "0.0.0.0"
    assert s.port == 9001
    assert s.data_dir == tmp_path
    assert s.store == "redis://localhost:6379/0"
    assert s.policies_dir == tmp_path / "policies"
    assert s.allowed_origins == ("https://shop.example", "https://help.example")
    assert s.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    assert s.max_message_chars == 2000
    assert s.max_frame_bytes == 32768
    assert (s.send_timeout, s.ping_interval) == (2.5, 30.0)
    assert s.typing_interval == 0.5
    assert s.auto_assign is True


@pytest.mark.parametrize(
    "value, on", [("1", True), ("true", True), (" Yes ", True), ("off", False), ("0", False)]
)
def test_auto_assign_is_a_flag(value: str, on: bool) -> None:
    """Config: PARLEY_AUTO_ASSIGN reads the usual words for on and off, any case."""
    assert Settings.from_env({"PARLEY_AUTO_ASSIGN": value}).auto_assign is on


def test_other_variables_are_ignored() -> None:
    """Config: only PARLEY_* variables are read."""
    assert Settings.from_env({"PORT": "1", "HOST": "example.org", "PARLEY": "x"}) == Settings()


def test_overrides_win_over_the_environment(tmp_path: Path) -> None:
    """Config: command-line values override PARLEY_* variables; None means 'not given'."""
    env = {"PARLEY_PORT": "9001", "PARLEY_HOST": "0.0.0.0", "PARLEY_DATA_DIR": "/srv/parley"}
    s = Settings.from_env(env, port=7000, data_dir=tmp_path, host=None)
    assert s.port == 7000
    assert s.data_dir == tmp_path
    assert s.host == "0.0.0.0"


@pytest.mark.parametrize(
    "var, value",
    [
        ("PARLEY_PORT", "eighty"),
        ("PARLEY_PORT", ""),
        ("PARLEY_MAX_MESSAGE_CHARS", "4k"),
        ("PARLEY_MAX_FRAME_BYTES", "1.5"),
        ("PARLEY_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("PARLEY_TRUSTED_PROXIES", "127.0.0.1, proxy.local"),
        ("PARLEY_PING_INTERVAL", "0"),
        ("PARLEY_PING_INTERVAL", "-1"),
        ("PARLEY_PING_INTERVAL", "nan"),
        ("PARLEY_PING_INTERVAL", "inf"),
        ("PARLEY_SEND_TIMEOUT", "0"),
        ("PARLEY_SEND_TIMEOUT", "nan"),
        ("PARLEY_TYPING_INTERVAL", "0"),
        ("PARLEY_TYPING_INTERVAL", "soon"),
        ("PARLEY_AUTO_ASSIGN", "maybe"),
        ("PARLEY_AUTO_ASSIGN", ""),
        ("PARLEY_WEBHOOK_TIMEOUT", "0"),
        ("PARLEY_WEBHOOK_TIMEOUT", "ten"),
        ("PARLEY_WEBHOOK_RETRY_BASE", "-5"),
        ("PARLEY_WEBHOOK_RETRY_BASE", "inf"),
        ("PARLEY_METRICS_ADDRESS", "9100"),
        ("PARLEY_METRICS_ADDRESS", "127.0.0.1:"),
        ("PARLEY_METRICS_ADDRESS", ":9100"),
        ("PARLEY_METRICS_ADDRESS", "127.0.0.1:0"),
        ("PARLEY_METRICS_ADDRESS", "127.0.0.1:65536"),
        ("PARLEY_METRICS_ADDRESS", "127.0.0.1:\uff19\uff11\uff10\uff10"),
        ("PARLEY_LOG_FORMAT", "xml"),
        ("PARLEY_LOG_FORMAT", ""),
        ("PARLEY_LOG_LEVEL", "verbose"),
        ("PARLEY_LOG_LEVEL", "critical"),
    ],
)
def test_a_bad_value_raises_naming_the_variable(var: str, value: str) -> None:
    """Config: a bad variable is refused at start, with its name and value in the message."""
    with pytest.raises(ValueError) as caught:
        Settings.from_env({var: value})
    assert str(caught.value).startswith(f"{var}={value!r}: ")


def test_default_store_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    """Config: without a store URL the embedded SQLite store lives in data_dir."""
    assert Settings().store == f"sqlite:{Path('data') / 'parley.db'}"
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).store == (
        f"sqlite:{tmp_path / 'parley.db'}"
    )
    assert Settings(data_dir=tmp_path, store_url="redis://r:6379/0").store == "redis://r:6379/0"


def test_origins_default_to_the_servers_own_origin() -> None:
    """Invariant 8: with no allowed origins configured, only the server's own origin may connect."""
    s = Settings(host="127.0.0.1", port=8123)
    assert "http://127.0.0.1:8123" in s.origins
    assert "*" not in s.origins
    assert all(o.endswith(":8123") for o in s.origins)


def test_origins_default_for_an_ipv6_host() -> None:
    """Invariant 8: the server's own origin on an IPv6 host is http://[addr]:port (RFC 3986)."""
    assert "http://[::1]:8123" in Settings(host="::1", port=8123).origins


def test_configured_origins_replace_the_default() -> None:
    """Invariant 8: configured origins are the only ones allowed."""
    s = Settings.from_env({"PARLEY_ALLOWED_ORIGINS": "https://shop.example"}, port=8123)
    assert s.origins == ("https://shop.example",)


def test_parse_networks_and_parse_list_skip_blanks() -> None:
    """Config: comma-separated lists tolerate spaces and empty entries."""
    assert parse_networks(" 10.1.2.3/8 ,, ::1 ") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_list("a/, ,b ") == ("a", "b")


def test_time_stamping_and_pdf_signing_settings(tmp_path: Path) -> None:
    """Config: PARLEY_TSA_* and PARLEY_PDF_* set the TSA and the PDF signing pair; by default
    no TSA, and the pair is the one ``parley keys`` creates in DATA_DIR."""
    default = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)})
    assert (default.tsa_url, default.tsa_cert) == (None, None)
    assert default.pdf_signing == (
        tmp_path / "pdf-signing-cert.pem",
        tmp_path / "pdf-signing-key.pem",
    )
    s = Settings.from_env(
        {
            "PARLEY_TSA_URL": "https://tsa.example/tsr",
            "PARLEY_TSA_CERT": str(tmp_path / "tsa-ca.pem"),
            "PARLEY_PDF_CERT": str(tmp_path / "org.pem"),
            "PARLEY_PDF_KEY": str(tmp_path / "org-key.pem"),
        }
    )
    assert s.tsa_url == "https://tsa.example/tsr"
    assert s.tsa_cert == tmp_path / "tsa-ca.pem"
    assert s.pdf_signing == (tmp_path / "org.pem", tmp_path / "org-key.pem")


@pytest.mark.parametrize("value", ["tsa.example/tsr", "ftp://tsa.example/", "https://", ""])
def test_a_tsa_url_that_is_not_http_is_refused(value: str) -> None:
    """Config: PARLEY_TSA_URL must be an http(s) URL; the error names the variable."""
    with pytest.raises(ValueError, match="PARLEY_TSA_URL"):
        Settings.from_env({"PARLEY_TSA_URL": value})


def test_retention_is_off_by_default_and_read_class_by_class() -> None:
    """Config: without PARLEY_RETENTION everything is kept; each class gets its own period."""
    assert Settings.from_env({}).retention == Retention()
    assert not Retention().enabled
    s = Settings.from_env(
        {"PARLEY_RETENTION": " resolved=90d, closed=3y,abandoned=12h ",
         "PARLEY_RETENTION_INTERVAL": "60"}
    )  # fmt: skip
    assert s.retention == Retention(
        resolved=timedelta(days=90), closed=timedelta(days=3 * 365),
        abandoned=timedelta(hours=12),
    )  # fmt: skip
    assert s.retention.enabled and s.retention_interval == 60.0
    assert s.retention.periods()["bars"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("resolved=90", "not a period"),
        ("resolved=0d", "not a period"),
        ("resolved=-1d", "not a period"),
        ("resolved=1.5d", "not a period"),
        ("resolved=90 days", "not a period"),
        ("kept=90d", "'kept' is not a retention class; the classes are abandoned, bars,"),
        ("resolved=1d,resolved=2d", "resolved is given twice"),
        ("resolved", "is not CLASS=PERIOD"),
    ],
)
def test_retention_refuses_what_it_cannot_read(value: str, message: str) -> None:
    """Config: a bad PARLEY_RETENTION is refused naming the variable and what is wrong."""
    with pytest.raises(ValueError, match="PARLEY_RETENTION=") as e:
        Settings.from_env({"PARLEY_RETENTION": value})
    assert message in str(e.value)


def test_webhook_timeout_and_retry_base_default_and_are_read() -> None:
    """Config: webhooks wait 10 s per attempt and 5 s before the first retry unless told."""
    assert (Settings().webhook_timeout, Settings().webhook_retry_base) == (10.0, 5.0)
    s = Settings.from_env({"PARLEY_WEBHOOK_TIMEOUT": "2.5", "PARLEY_WEBHOOK_RETRY_BASE": "0.1"})
    assert (s.webhook_timeout, s.webhook_retry_base) == (2.5, 0.1)


@pytest.mark.parametrize("flag", ["--webhook-timeout", "--webhook-retry-base"])
def test_a_bad_webhook_flag_stops_serve_naming_it(flag: str, tmp_path: Path) -> None:
    """Config: ``parley serve`` refuses a webhook flag that is not seconds above 0, at start."""
    result = parley("serve", flag, "0", "--data-dir", str(tmp_path), "--port", str(free_port()))
    assert result.returncode == 2
    assert f"parley: error: {flag} '0': must be a finite number of seconds above 0" in (
        result.stderr
    )


def test_the_metrics_address_is_host_and_port() -> None:
    """Metrics: PARLEY_METRICS_ADDRESS is unset by default (no listener), else HOST:PORT."""
    assert Settings.from_env({}).metrics_address is None
    env = {"PARLEY_METRICS_ADDRESS": " 10.0.0.5:9100 "}
    assert Settings.from_env(env).metrics_address == ("10.0.0.5", 9100)
    env = {"PARLEY_METRICS_ADDRESS": "[::1]:9100"}
    assert Settings.from_env(env).metrics_address == ("::1", 9100)


def test_the_metrics_address_may_not_be_the_servers_port() -> None:
    """Metrics: a metrics listener on the main port would take over the API; refused at start."""
    with pytest.raises(ValueError, match="PARLEY_METRICS_ADDRESS: port 8000 is the server's own"):
        Settings.from_env({"PARLEY_METRICS_ADDRESS": "0.0.0.0:8000"})
