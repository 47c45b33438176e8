"""Hub configuration: a TOML file, then TABLESIDE_HUB_* environment overrides.

    [hub]
    data_dir = "/var/lib/tableside-hub"      # required; holds the SQLite file by default
    database_url = "postgresql+psycopg://hub@db/hub"   # default sqlite:///{data_dir}/hub.sqlite
    public_url = "https://hub.example.com"   # default http://{http.host}:{http.port}
    operator_token = "..."                   # required, at least 24 characters
    log_format = "text"                      # or "json": one JSON object per line (docs/scaling.md)

    [http]
    host = "127.0.0.1"
    port = 8090

    [broker]
    host = "127.0.0.1"
    port = 1883
    username = "hub"                         # optional
    password = "..."                         # optional
    tls = false                              # true: TLS to the broker (a hub on another machine)
    cafile = "/etc/tableside-hub/broker-ca.crt"  # with tls: the broker's CA; default the system's
    shared_subscription = true               # false for brokers without $share (the demo's amqtt)
    client_id = "hub-1"                      # default hub-<random>

    [link]
    retention_days = 7                       # delivered link messages are kept this long
    max_in_flight = 2000                     # up-messages taken from the broker, not yet done (docs/scaling.md)
    max_batch = 500                          # up-messages applied in one transaction at most
    apply_concurrency = 0                    # batches committing at once; 0: 1 on SQLite, 4 on PostgreSQL

    [metrics]
    port = 9464                              # Prometheus /metrics of this worker; absent: not served
    host = "127.0.0.1"

    [stripe]                                 # absent: the demo provider (no real money)
    secret_key = "sk_live_..."               # or TABLESIDE_STRIPE_SECRET_KEY
    webhook_secret = "whsec_..."             # or TABLESIDE_STRIPE_WEBHOOK_SECRET
    api_base = "https://api.stripe.com"      # or TABLESIDE_STRIPE_API_BASE (tests, staging)

    [payments]
    reconcile_interval_s = 300               # how often Stripe is asked for what webhooks missed

    [ca]                                     # the CA that certifies agents (docs/security.md)
    dir = "/var/lib/tableside-hub/ca"        # default {data_dir}/ca; its key is 0600
    cert_days = 90                           # agents' certificates; renewed with a third left
    crl_days = 7                             # the revocation list's validity; re-signed at half
    crl_path = "/etc/mosquitto/tableside/crl.pem"  # where the broker reads it; default {ca.dir}/crl.pem
    on_crl_change = "systemctl reload mosquitto"     # run after the CRL is written (optional)
    on_revoke = "/opt/tableside/bin/python /usr/share/tableside/mosquitto/kick_revoked.py"  # drops revoked agents

    [enrollment]                             # what a newly paired agent is told
    broker_host = "mqtt.example.com"         # default broker.host
    broker_port = 8883                       # default broker.port
    broker_tls = true                        # client certificates over TLS (false: the demo)
    code_minutes = 30                        # how long an enrollment code is valid

    [backups]                                # agents' sealed backups (docs/recovery.md)
    dir = "/var/lib/tableside-hub/backups"   # default {data_dir}/backups; shared by every worker
    keep = 48                                # per agent, the newest kept
    max_mb = 64                              # one backup at most

Every key has an environment override named TABLESIDE_HUB_<KEY> for the [hub] section and
TABLESIDE_HUB_<SECTION>_<KEY> for the others, e.g. TABLESIDE_HUB_OPERATOR_TOKEN,
TABLESIDE_HUB_DATABASE_URL, TABLESIDE_HUB_HTTP_PORT, TABLESIDE_HUB_BROKER_PASSWORD; the [stripe]
keys are the exceptions, named as the payments issue names them: TABLESIDE_STRIPE_<KEY>.
Relative paths are taken from the working directory. Errors name the key (and the variable when
the value came from one) and never echo secrets.
"""

import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "TABLESIDE_HUB_"
STRIPE_API_BASE = "https://api.stripe.com"
MIN_TOKEN_LENGTH = 24


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


# --- value checks, shared by load_config (raw text/TOML values) and HubConfig (typed values) ---

def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


def _token(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if len(value) < MIN_TOKEN_LENGTH:
        raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters, got {len(value)}")
    return value


def _port(value: Any, *, allow_zero: bool = False) -> int:
    text = value.strip() if isinstance(value, str) else value
    try:
        port = int(text) if not isinstance(text, bool) else None
    except (TypeError, ValueError):
        port = None
    low = 0 if allow_zero else 1
    if port is None or not low <= port <= 65535 or isinstance(text, float):
        raise ValueError(f"expected an integer {low}-65535, got {value!r}")
    return port


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise ValueError(f"expected true or false, got {value!r}")


def _path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_text(value))


def _database_url(value: Any) -> str:
    text = _text(value)
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError("expected a URL like sqlite:///path or postgresql+psycopg://...") from None
    # People paste plain postgres:// URLs; psycopg 3 is the driver we ship.
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        # Only the scheme is echoed: the rest may hold a password.
        raise ValueError(f"expected sqlite:///... or postgresql+psycopg://..., got a {url.drivername} URL")
    return url.render_as_string(hide_password=False)


def _http_url(value: Any) -> str:
    text = _text(value)
    if not text.startswith(("http://", "https://")) or len(text) <= len("https://"):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return text.rstrip("/")


def _retention_days(value: Any) -> float:
    text = value.strip() if isinstance(value, str) else value
    try:
        days = float(text) if not isinstance(text, bool) else None
    except (TypeError, ValueError):
        days = None
    if days is None or not 0 < days <= 3650:
        raise ValueError(f"expected a number of days above 0 (at most 3650), got {value!r}")
    return days


def _count(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        text = value.strip() if isinstance(value, str) else value
        try:
            number = int(text) if not isinstance(text, bool | float) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {value!r}")
        return number
    return check


def _number(low: float, high: float, unit: str) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        text = value.strip() if isinstance(value, str) else value
        try:
            number = float(text) if not isinstance(text, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ValueError(f"expected a number of {unit} from {low:g} to {high:g}, got {value!r}")
        return number
    return check


_INTERVAL_S = _number(1, 86400, "seconds")
_DAYS = _number(0.01, 3650, "days")
_MINUTES = _number(1, 7 * 24 * 60, "minutes")
_IN_FLIGHT = _count(1, 100_000)
_BATCH = _count(1, 10_000)
_CONCURRENCY = _count(0, 64)
_KEEP = _count(1, 10_000)
_MAX_MB = _number(1, 100_000, "megabytes")
LOG_FORMATS = ("text", "json")


def _log_format(value: Any) -> str:
    text = _text(value).lower()
    if text not in LOG_FORMATS:
        raise ValueError(f"expected one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return text


def _check(key: str, check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class HubConfig:
    data_dir: Path
    operator_token: str
    database_url: str = ""  # "" means sqlite:///{data_dir}/hub.sqlite
    http_host: str = "127.0.0.1"
    http_port: int = 8090  # 0 picks a free port (tests, demo)
    public_url: str = ""  # "" means http://{http_host}:{http_port}
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_username: str | None = None
    broker_password: str | None = field(default=None, repr=False)
    broker_tls: bool = False  # the password listener over TLS, for hubs not on the broker's machine
    broker_cafile: Path | None = None  # None: the system's CAs
    shared_subscription: bool = True
    # unguessable: another client taking this id would make the broker drop the hub's connection
    client_id: str = field(default_factory=lambda: f"hub-{secrets.token_hex(16)}")
    retention_days: float = 7.0  # delivered hub -> agent messages are pruned after this
    max_in_flight: int = 2000  # up-messages taken from the broker and not yet applied and acked
    max_batch: int = 500  # up-messages in one transaction at most
    apply_concurrency: int = 0  # batches committing at once; 0: 1 on SQLite, 4 on PostgreSQL
    stripe_secret_key: str | None = field(default=None, repr=False)  # None: the demo provider
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str = STRIPE_API_BASE
    reconcile_interval_s: float = 300.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: /metrics not served; 0: a free port (tests)
    ca_dir: Path | None = None  # None: {data_dir}/ca
    cert_days: float = 90.0
    crl_days: float = 7.0
    crl_path: Path | None = None  # None: {ca_dir}/crl.pem
    on_crl_change: str | None = None
    on_revoke: str | None = None
    agent_broker_host: str = ""  # "": broker_host
    agent_broker_port: int = 0  # 0: broker_port
    agent_broker_tls: bool = False
    code_minutes: float = 30.0
    backups_dir: Path | None = None  # None: {data_dir}/backups
    backups_keep: int = 48
    backups_max_mb: float = 64.0
    log_format: str = "text"  # "json": one JSON object per line

    def __post_init__(self) -> None:
        # Checked here too, so a config built in code is as safe as one loaded from a file.
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("data_dir", _check("hub.data_dir", _path, self.data_dir))
        put("operator_token", _check("hub.operator_token", _token, self.operator_token))
        database_url = self.database_url or f"sqlite:///{self.data_dir}/hub.sqlite"
        put("database_url", _check("hub.database_url", _database_url, database_url))
        put("http_host", _check("http.host", _text, self.http_host))
        put("http_port", _check("http.port", lambda v: _port(v, allow_zero=True), self.http_port))
        public_url = self.public_url or f"http://{self.http_host}:{self.http_port}"
        put("public_url", _check("hub.public_url", _http_url, public_url))
        put("broker_host", _check("broker.host", _text, self.broker_host))
        put("broker_port", _check("broker.port", _port, self.broker_port))
        if self.broker_username is not None:
            _check("broker.username", _text, self.broker_username)
        if self.broker_password is not None:
            _check("broker.password", _secret, self.broker_password)
        put("broker_tls", _check("broker.tls", _bool, self.broker_tls))
        if self.broker_cafile is not None:
            put("broker_cafile", _check("broker.cafile", _path, self.broker_cafile))
        put("shared_subscription", _check("broker.shared_subscription", _bool, self.shared_subscription))
        put("client_id", _check("broker.client_id", _text, self.client_id))
        put("retention_days", _check("link.retention_days", _retention_days, self.retention_days))
        put("max_in_flight", _check("link.max_in_flight", _IN_FLIGHT, self.max_in_flight))
        put("max_batch", _check("link.max_batch", _BATCH, self.max_batch))
        put("apply_concurrency", _check("link.apply_concurrency", _CONCURRENCY, self.apply_concurrency))
        if self.stripe_secret_key is not None:
            _check("stripe.secret_key", _secret, self.stripe_secret_key)
        if self.stripe_webhook_secret is not None:
            _check("stripe.webhook_secret", _secret, self.stripe_webhook_secret)
        put("stripe_api_base", _check("stripe.api_base", _http_url, self.stripe_api_base))
        put("metrics_host", _check("metrics.host", _text, self.metrics_host))
        if self.metrics_port is not None:
            put("metrics_port", _check("metrics.port", lambda v: _port(v, allow_zero=True), self.metrics_port))
        put("reconcile_interval_s", _check("payments.reconcile_interval_s", _INTERVAL_S, self.reconcile_interval_s))
        put("ca_dir", _check("ca.dir", _path, self.ca_dir or self.data_dir / "ca"))
        put("cert_days", _check("ca.cert_days", _DAYS, self.cert_days))
        put("crl_days", _check("ca.crl_days", _DAYS, self.crl_days))
        put("crl_path", _check("ca.crl_path", _path, self.crl_path or self.ca_dir / "crl.pem"))
        for key in ("on_crl_change", "on_revoke"):
            if getattr(self, key) is not None:
                _check(f"ca.{key}", _text, getattr(self, key))
        put("agent_broker_host", _check("enrollment.broker_host", _text, self.agent_broker_host or self.broker_host))
        put("agent_broker_port", _check("enrollment.broker_port", _port, self.agent_broker_port or self.broker_port))
        put("agent_broker_tls", _check("enrollment.broker_tls", _bool, self.agent_broker_tls))
        put("code_minutes", _check("enrollment.code_minutes", _MINUTES, self.code_minutes))
        put("backups_dir", _check("backups.dir", _path, self.backups_dir or self.data_dir / "backups"))
        put("backups_keep", _check("backups.keep", _KEEP, self.backups_keep))
        put("backups_max_mb", _check("backups.max_mb", _MAX_MB, self.backups_max_mb))
        put("log_format", _check("hub.log_format", _log_format, self.log_format))

    @property
    def batches_at_once(self) -> int:
        """apply_concurrency, or what suits the database: SQLite has one writer at a time."""
        if self.apply_concurrency:
            return self.apply_concurrency
        return 1 if self.database_url.startswith("sqlite") else 4

    @property
    def payment_provider(self) -> str:
        """"stripe" with a secret key, else "demo"."""
        return "stripe" if self.stripe_secret_key else "demo"


# (section, key) -> (HubConfig field, check of the raw value)
_KEYS: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("hub", "data_dir"): ("data_dir", _path),
    ("hub", "database_url"): ("database_url", _database_url),
    ("hub", "public_url"): ("public_url", _http_url),
    ("hub", "operator_token"): ("operator_token", _token),
    ("hub", "log_format"): ("log_format", _log_format),
    ("http", "host"): ("http_host", _text),
    ("http", "port"): ("http_port", lambda v: _port(v, allow_zero=True)),
    ("broker", "host"): ("broker_host", _text),
    ("broker", "port"): ("broker_port", _port),
    ("broker", "username"): ("broker_username", _text),
    ("broker", "password"): ("broker_password", _secret),
    ("broker", "tls"): ("broker_tls", _bool),
    ("broker", "cafile"): ("broker_cafile", _path),
    ("broker", "shared_subscription"): ("shared_subscription", _bool),
    ("broker", "client_id"): ("client_id", _text),
    ("link", "retention_days"): ("retention_days", _retention_days),
    ("link", "max_in_flight"): ("max_in_flight", _IN_FLIGHT),
    ("link", "max_batch"): ("max_batch", _BATCH),
    ("link", "apply_concurrency"): ("apply_concurrency", _CONCURRENCY),
    ("stripe", "secret_key"): ("stripe_secret_key", _secret),
    ("stripe", "webhook_secret"): ("stripe_webhook_secret", _secret),
    ("stripe", "api_base"): ("stripe_api_base", _http_url),
    ("payments", "reconcile_interval_s"): ("reconcile_interval_s", _INTERVAL_S),
    ("metrics", "host"): ("metrics_host", _text),
    ("metrics", "port"): ("metrics_port", lambda v: _port(v, allow_zero=True)),
    ("ca", "dir"): ("ca_dir", _path),
    ("ca", "cert_days"): ("cert_days", _DAYS),
    ("ca", "crl_days"): ("crl_days", _DAYS),
    ("ca", "crl_path"): ("crl_path", _path),
    ("ca", "on_crl_change"): ("on_crl_change", _text),
    ("ca", "on_revoke"): ("on_revoke", _text),
    ("enrollment", "broker_host"): ("agent_broker_host", _text),
    ("enrollment", "broker_port"): ("agent_broker_port", _port),
    ("enrollment", "broker_tls"): ("agent_broker_tls", _bool),
    ("enrollment", "code_minutes"): ("code_minutes", _MINUTES),
    ("backups", "dir"): ("backups_dir", _path),
    ("backups", "keep"): ("backups_keep", _KEEP),
    ("backups", "max_mb"): ("backups_max_mb", _MAX_MB),
}
_REQUIRED = (("hub", "data_dir"), ("hub", "operator_token"))


def env_name(section: str, key: str) -> str:
    if section == "stripe":
        return f"TABLESIDE_STRIPE_{key}".upper()
    middle = "" if section == "hub" else f"{section}_"
    return f"{ENV_PREFIX}{middle}{key}".upper()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    sections = {section for section, _ in _KEYS}
    for section, table in doc.items():
        if section not in sections:
            raise ConfigError(f"{section}: unknown section (expected one of {', '.join(sorted(sections))})")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: expected a [{section}] table")
        for key in table:
            if (section, key) not in _KEYS:
                raise ConfigError(f"{section}.{key}: unknown key")
    return doc


def load_config(path: Path | None, env: Mapping[str, str]) -> HubConfig:
    """Read the TOML file (if any), apply TABLESIDE_HUB_* overrides, check everything."""
    doc = _read_toml(path) if path is not None else {}
    values: dict[str, Any] = {}
    for (section, key), (name, check) in _KEYS.items():
        label = f"{section}.{key}"
        raw = doc.get(section, {}).get(key)
        var = env_name(section, key)
        if var in env:
            raw, label = env[var], f"{label} (from {var})"
        if raw is None:
            if (section, key) in _REQUIRED:
                raise ConfigError(f"{section}.{key}: required (set it in [{section}] or {var})")
            continue
        values[name] = _check(label, check, raw)
    return HubConfig(**values)
