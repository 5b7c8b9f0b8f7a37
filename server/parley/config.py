"""Server settings, from the environment (``PARLEY_*``) and the command line."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

from parley.domain.anchor import ORIGIN
from parley.domain.note import COSIGNATURE_V1, NoteMalformed, VerifierKey, check_key_name
from parley.logs import LogFormat, LogLevel, parse_log_format, parse_log_level

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; raises ValueError naming a bad entry."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip()
    )


def parse_seconds(text: str) -> float:
    """A duration in seconds: a finite number above zero."""
    seconds = float(text)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError("must be a finite number of seconds above 0")
    return seconds


def parse_flag(text: str) -> bool:
    """On or off: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``."""
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be on or off: 1, true, yes, on, 0, false, no or off")


def parse_http_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL."""
    url = text.strip()
    if not url.startswith(("http://", "https://")) or len(url) <= len("https://"):
        raise ValueError("must be an http:// or https:// URL")
    return url


def parse_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9100"`` or ``"[::1]:9100"`` -> (host, port), the port 1 to 65535."""
    host, colon, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isascii() or not port.isdigit():
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9100 or [::1]:9100")
    if not 1 <= int(port) <= 65535:
        raise ValueError("the port must be 1 to 65535")
    return host, int(port)


@dataclass(frozen=True)
class Witness:
    """A witness the log submits its checkpoints to: its cosigning key and where it listens."""

    key: VerifierKey
    url: str


def parse_witnesses(text: str) -> tuple[Witness, ...]:
    """``"VKEY URL, VKEY URL"`` -> witnesses; each key a cosignature/v1 verifier key."""
    witnesses = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        vkey, _, url = entry.partition(" ")
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or " " in url:
            raise ValueError(f"{entry[:120]!r} is not 'VERIFIER_KEY http(s)://WITNESS_URL'")
        try:
            key = VerifierKey.parse(vkey)
        except NoteMalformed as e:
            raise ValueError(str(e)) from None
        if key.sig_type != COSIGNATURE_V1:
            raise ValueError(f"{key.name}'s key is not a witness (cosignature/v1, type 0x04) key")
        witnesses.append(Witness(key, url))
    return tuple(witnesses)


def parse_origin(text: str) -> str:
    try:
        return check_key_name(text.strip())
    except NoteMalformed as e:
        raise ValueError(str(e)) from None


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(p.strip().rstrip("/") for p in text.split(",") if p.strip())


#: Units of a retention period: seconds, minutes, hours, days, weeks, years of 365 days.
_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_PERIOD = re.compile(r"([0-9]{1,6})(s|min|h|d|w|y)")


def parse_period(text: str) -> timedelta:
    """``"90d"`` -> 90 days: a whole number above 0 and a unit (s, min, h, d, w, y = 365 d)."""
    found = _PERIOD.fullmatch(text.strip())
    if found is None or int(found[1]) == 0:
        raise ValueError(
            f"{text.strip()[:40]!r} is not a period: a whole number above 0 and a unit"
            " (s, min, h, d, w or y), e.g. 90d"
        )
    return timedelta(seconds=int(found[1]) * _UNITS[found[2]])


def period_text(period: timedelta) -> str:
    """``timedelta(days=90)`` -> ``"90d"``: the largest unit that divides it."""
    seconds = int(period.total_seconds())
    for unit in ("y", "w", "d", "h", "min"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Retention:
    """How long each retention class keeps its personal fields; ``None`` keeps them forever.

    See :mod:`parley.service.retention` for what each class covers and what is erased.
    """

    resolved: timedelta | None = None
    closed: timedelta | None = None
    abandoned: timedelta | None = None
    bars: timedelta | None = None

    @property
    def enabled(self) -> bool:
        return any(p is not None for p in self.periods().values())

    def periods(self) -> dict[str, timedelta | None]:
        """Every class by name, with its period."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_retention(text: str) -> Retention:
    """``"resolved=90d, closed=3y"`` -> those periods, the other classes kept forever.

    Raises ValueError naming an unknown class, a class given twice, or a bad period.
    """
    names = {f.name for f in fields(Retention)}
    periods: dict[str, timedelta] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, equals, period = (p.strip() for p in entry.partition("="))
        if not equals:
            raise ValueError(f"{entry[:60]!r} is not CLASS=PERIOD, e.g. resolved=90d")
        if name not in names:
            raise ValueError(
                f"{name[:40]!r} is not a retention class; the classes are "
                f"{', '.join(sorted(names))}"
            )
        if name in periods:
            raise ValueError(f"{name} is given twice")
        try:
            periods[name] = parse_period(period)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return Retention(**periods)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    store_url: str | None = None
    policies_dir: Path = Path("policies")
    #: Folder of the widget, the demo page and the agent console.
    widget_dir: Path = Path("widget")
    #: Origins allowed to open WebSockets; "*" allows any. Empty: the server's own origin.
    allowed_origins: tuple[str, ...] = ()
    #: Peers whose X-Forwarded-For is believed.
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    #: The server's Ed25519 signing key (created on first start). Default: DATA_DIR/signing-key.pem
    key_file: Path | None = None
    #: Seconds between anchorings of open conversations in the signed log.
    anchor_interval: float = 300.0
    #: Messages a visitor may send per minute (a burst of that many, then refilled).
    messages_per_minute: int = 20
    #: New conversations one address may open per hour.
    conversations_per_hour: int = 10
    max_message_chars: int = 4000
    max_frame_bytes: int = 64 * 1024
    #: Events and list updates queued for one slow client before it is disconnected (1013).
    max_pending_frames: int = 1000
    #: Seconds an outbound frame may wait for a slow client before it is disconnected (1013).
    send_timeout: float = 10.0
    #: Seconds between keepalive pings; a client that has not answered one within as long again
    #: is disconnected (1013).
    ping_interval: float = 20.0
    #: Seconds a conversation's visitor may be gone (no widget connected) before Parley ends
    #: the conversation as abandoned.
    abandon_after: float = 600.0
    #: Seconds between two typing (or read) signals relayed from one sender about one
    #: conversation; those in between are coalesced into the last one.
    typing_interval: float = 2.0
    #: Give each new conversation at once to the least busy available agent (none available:
    #: it waits in the queue).
    auto_assign: bool = False
    #: An RFC 3161 time-stamping authority; set, PDF evidence is signed with its time stamp
    #: (PAdES B-T) and checkpoints may be stamped by it. Off by default.
    tsa_url: str | None = None
    #: The TSA's CA certificate (PEM): what time-stamp tokens are checked against offline.
    tsa_cert: Path | None = None
    #: Certificate and private key (PEM) that sign PDF evidence. Default: the self-signed pair
    #: ``parley keys`` creates in DATA_DIR (pdf-signing-cert.pem, pdf-signing-key.pem).
    pdf_cert: Path | None = None
    pdf_key: Path | None = None
    #: The transparency log's name in its checkpoints (and its note key name): a schema-less
    #: URL unique to this deployment, e.g. ``chat.example.com/parley-log``.
    log_origin: str = ORIGIN
    #: Witnesses that cosign the log's checkpoints (c2sp.org/tlog-witness).
    witnesses: tuple[Witness, ...] = ()
    #: How long each retention class keeps personal fields (off by default: forever).
    retention: Retention = field(default_factory=Retention)
    #: Seconds between two retention sweeps of the server.
    retention_interval: float = 3600.0
    #: Seconds one webhook delivery attempt may take before it counts as failed.
    webhook_timeout: float = 10.0
    #: Seconds before a failed webhook delivery's first retry; each later wait doubles.
    webhook_retry_base: float = 5.0
    #: Where a second listener serves only /metrics, without a token (for Prometheus on a
    #: private network). Unset: /metrics is served only on the main port, to admin tokens.
    metrics_address: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.metrics_address is not None and self.metrics_address[1] == self.port:
            raise ValueError(
                f"PARLEY_METRICS_ADDRESS: port {self.port} is the server's own port; pick another"
            )

    #: How the server's log lines are written: JSON, text, or text only on a terminal.
    log_format: LogFormat = LogFormat.AUTO
    #: The least severe of Parley's log lines that are written.
    log_level: LogLevel = LogLevel.INFO

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:{self.data_dir / 'parley.db'}"

    @property
    def signing_key(self) -> Path:
        return self.key_file or self.data_dir / "signing-key.pem"

    @property
    def pdf_signing(self) -> tuple[Path, Path]:
        """Where the certificate and the key that sign PDF evidence are (they may not exist)."""
        return (
            self.pdf_cert or self.data_dir / "pdf-signing-cert.pem",
            self.pdf_key or self.data_dir / "pdf-signing-key.pem",
        )

    @property
    def origins(self) -> tuple[str, ...]:
        if self.allowed_origins:
            return self.allowed_origins
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"http://{host}:{self.port}", f"http://localhost:{self.port}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """Settings from ``PARLEY_*`` variables, then ``overrides`` (non-None) on top."""
        values: dict[str, object] = {}
        readers: dict[str, tuple[str, object]] = {
            "host": ("PARLEY_HOST", str),
            "port": ("PARLEY_PORT", int),
            "data_dir": ("PARLEY_DATA_DIR", Path),
            "store_url": ("PARLEY_STORE", str),
            "policies_dir": ("PARLEY_POLICIES", Path),
            "widget_dir": ("PARLEY_WIDGET_DIR", Path),
            "allowed_origins": ("PARLEY_ALLOWED_ORIGINS", parse_list),
            "trusted_proxies": ("PARLEY_TRUSTED_PROXIES", parse_networks),
            "key_file": ("PARLEY_SIGNING_KEY", Path),
            "anchor_interval": ("PARLEY_ANCHOR_INTERVAL", float),
            "max_message_chars": ("PARLEY_MAX_MESSAGE_CHARS", int),
            "messages_per_minute": ("PARLEY_MESSAGES_PER_MINUTE", int),
            "conversations_per_hour": ("PARLEY_CONVERSATIONS_PER_HOUR", int),
            "max_frame_bytes": ("PARLEY_MAX_FRAME_BYTES", int),
            "max_pending_frames": ("PARLEY_MAX_PENDING_FRAMES", int),
            "send_timeout": ("PARLEY_SEND_TIMEOUT", parse_seconds),
            "ping_interval": ("PARLEY_PING_INTERVAL", parse_seconds),
            "abandon_after": ("PARLEY_ABANDON_AFTER", parse_seconds),
            "typing_interval": ("PARLEY_TYPING_INTERVAL", parse_seconds),
            "auto_assign": ("PARLEY_AUTO_ASSIGN", parse_flag),
            "tsa_url": ("PARLEY_TSA_URL", parse_http_url),
            "tsa_cert": ("PARLEY_TSA_CERT", Path),
            "pdf_cert": ("PARLEY_PDF_CERT", Path),
            "pdf_key": ("PARLEY_PDF_KEY", Path),
            "log_origin": ("PARLEY_LOG_ORIGIN", parse_origin),
            "witnesses": ("PARLEY_WITNESSES", parse_witnesses),
            "retention": ("PARLEY_RETENTION", parse_retention),
            "retention_interval": ("PARLEY_RETENTION_INTERVAL", parse_seconds),
            "webhook_timeout": ("PARLEY_WEBHOOK_TIMEOUT", parse_seconds),
            "webhook_retry_base": ("PARLEY_WEBHOOK_RETRY_BASE", parse_seconds),
            "metrics_address": ("PARLEY_METRICS_ADDRESS", parse_address),
            "log_format": ("PARLEY_LOG_FORMAT", parse_log_format),
            "log_level": ("PARLEY_LOG_LEVEL", parse_log_level),
        }
        for name, (var, parse) in readers.items():
            if var in env:
                try:
                    values[name] = parse(env[var])  # type: ignore[operator]
                except ValueError as e:
                    raise ValueError(f"{var}={env[var]!r}: {e}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
