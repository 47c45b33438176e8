"""Agent configuration: a TOML file, then TABLESIDE_AGENT_* environment overrides.

    [agent]     id, data_dir, log_format ("text" or "json": one JSON object per line)
    [http]      host, port, public_url
    [hub]       url                      (where pay links and the operator live)
    [broker]    host, port, username, password, keepalive, tls, cafile, certfile, keyfile
    [link]      window, resend_after, retention_days
    [dispatch]  hold_after, status_interval, fallback_after, deliver_timeout
    [restaurant] menu, tax_mode, tax_rate_bp, close_when_paid, visit_grace_minutes, wifi_ssid, wifi_password
    [payments]  hold_minutes             (how long a share is held for the diner paying it)
    [limits]    per_table_per_minute, per_table_burst, per_client_per_minute, per_client_burst
    [metrics]   allow_from               (networks besides the box itself that may read /metrics)
    [backup]    interval_minutes, dir, keep_hourly, keep_daily, alert_after_minutes  (docs/recovery.md)
    [[tables]]  name                     (created at first start)
    [[printers]] name, kind, stations, paper ("80mm"/"58mm"), fallback, options = {...}
    [pos]       kind, poll_interval, import_menu_on_start, options = {...}

An environment variable overrides one scalar key: TABLESIDE_AGENT_<SECTION>_<KEY>, for example
TABLESIDE_AGENT_BROKER_PORT=1884, or TABLESIDE_AGENT_<KEY> for the [agent] section itself
(TABLESIDE_AGENT_ID). Every problem is reported with the key that has it.

A paired box (`tableside agent setup`, agent/link/pairing.py) takes its agent id, hub URL and
broker (with its TLS certificate) from {data_dir}/link/pairing.toml, over what the file says:
the hub chose them. Environment variables still override both.
"""

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from agent.paired import PairingError, read_pairing
from contract.topics import check_agent_id

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


class AgentSection(msgspec.Struct, forbid_unknown_fields=True):
    id: str = "agent-1"
    data_dir: str = "./tableside-data"
    log_format: Literal["text", "json"] = "text"


class HttpSection(msgspec.Struct, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    public_url: str = ""  # what QR codes point at; defaults to http://host:port
    body_timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0  # seconds for a request's body to arrive


class HubSection(msgspec.Struct, forbid_unknown_fields=True):
    url: str = "http://127.0.0.1:8090"


class BrokerSection(msgspec.Struct, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    keepalive: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    tls: bool = False  # TLS with a client certificate (set by pairing): the broker knows the box by it
    cafile: str | None = None  # the hub's CA, which the broker's certificate must chain to
    certfile: str | None = None
    keyfile: str | None = None


class LinkSection(msgspec.Struct, forbid_unknown_fields=True):
    window: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 200  # messages in flight, unacked
    resend_after: Annotated[float, msgspec.Meta(gt=0)] = 15.0  # seconds without an ack
    retention_days: Annotated[float, msgspec.Meta(gt=0, le=3650)] = 7.0  # delivered/applied link messages kept


class DispatchSection(msgspec.Struct, forbid_unknown_fields=True):
    # a ticket that could not print for this long waits for staff instead of printing late
    hold_after: Annotated[float, msgspec.Meta(gt=0)] = 900.0
    status_interval: Annotated[float, msgspec.Meta(gt=0)] = 15.0  # how often printers are asked
    fallback_after: Annotated[int, msgspec.Meta(ge=1)] = 3  # failed tries before the fallback takes over
    deliver_timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0  # a driver that hangs longer has failed


class RestaurantSection(msgspec.Struct, forbid_unknown_fields=True):
    menu: str = ""
    # "inclusive": prices include tax (EU, UK, AU); "exclusive": tax is added on top by rate (US)
    tax_mode: Literal["inclusive", "exclusive"] = "inclusive"
    tax_rate_bp: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 0  # for items without their own rate
    close_when_paid: bool = True  # a settled bill frees the table: the next scan is a fresh table
    # ...while the party's phones keep their visit until all is served and this long has passed
    visit_grace_minutes: Annotated[float, msgspec.Meta(ge=0, le=24 * 60)] = 15.0
    wifi_ssid: str = ""  # printed on table cards as a join-the-Wi-Fi QR code
    wifi_password: str = ""


class PaymentsSection(msgspec.Struct, forbid_unknown_fields=True):
    hold_minutes: Annotated[float, msgspec.Meta(gt=0, le=24 * 60)] = 15.0  # a share's hold while its diner pays


class LimitsSection(msgspec.Struct, forbid_unknown_fields=True):
    """Diners' orders, calls to staff and shares per minute, with the burst allowed at once
    (agent/web/rate_limits.py): far above a busy table, far below a script."""

    per_table_per_minute: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    per_table_burst: Annotated[int, msgspec.Meta(ge=1)] = 30
    per_client_per_minute: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    per_client_burst: Annotated[int, msgspec.Meta(ge=1)] = 30


class MetricsSection(msgspec.Struct, forbid_unknown_fields=True):
    """GET /metrics answers the box itself and these networks ("192.168.1.10/32"): the monitoring host."""

    allow_from: list[str] = []

    def __post_init__(self) -> None:
        for network in self.allow_from:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"metrics.allow_from: {exc}") from None


class BackupSection(msgspec.Struct, forbid_unknown_fields=True):
    """Backups of the box (agent/backup/, docs/recovery.md): always on."""

    interval_minutes: Annotated[float, msgspec.Meta(ge=1, le=24 * 60)] = 5.0  # besides one after each settled bill
    dir: str = ""  # "": {data_dir}/backups; better a second disk or a USB stick
    keep_hourly: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 24
    keep_daily: Annotated[int, msgspec.Meta(ge=1, le=365)] = 7
    alert_after_minutes: Annotated[float, msgspec.Meta(ge=5, le=7 * 24 * 60)] = 60.0  # older: the red banner


class TableConf(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class PrinterConf(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    kind: str = "escpos-tcp"
    stations: list[str] = msgspec.field(default_factory=lambda: ["kitchen"])
    paper: Literal["80mm", "58mm"] = "80mm"
    fallback: str | None = None  # another printer that takes this one's tickets while it is out
    options: dict[str, Any] = {}


class PosConf(msgspec.Struct, forbid_unknown_fields=True):
    kind: str = "simulator"
    poll_interval: Annotated[float, msgspec.Meta(gt=0)] = 15.0  # seconds between asking for sold-out changes
    import_menu_on_start: bool = False  # take items and prices from the POS at each start (ids stay ours)
    options: dict[str, Any] = {}


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True):
    agent: AgentSection = msgspec.field(default_factory=AgentSection)
    http: HttpSection = msgspec.field(default_factory=HttpSection)
    hub: HubSection = msgspec.field(default_factory=HubSection)
    broker: BrokerSection = msgspec.field(default_factory=BrokerSection)
    link: LinkSection = msgspec.field(default_factory=LinkSection)
    dispatch: DispatchSection = msgspec.field(default_factory=DispatchSection)
    restaurant: RestaurantSection = msgspec.field(default_factory=RestaurantSection)
    payments: PaymentsSection = msgspec.field(default_factory=PaymentsSection)
    limits: LimitsSection = msgspec.field(default_factory=LimitsSection)
    metrics: MetricsSection = msgspec.field(default_factory=MetricsSection)
    backup: BackupSection = msgspec.field(default_factory=BackupSection)
    tables: list[TableConf] = msgspec.field(default_factory=lambda: [TableConf("Table 1")])
    printers: list[PrinterConf] = []
    pos: PosConf | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.agent.data_dir)

    @property
    def public_url(self) -> str:
        return (self.http.public_url or f"http://{self.http.host}:{self.http.port}").rstrip("/")


_SCALAR_SECTIONS = {
    "agent": AgentSection, "http": HttpSection, "hub": HubSection, "broker": BrokerSection,
    "link": LinkSection, "dispatch": DispatchSection, "restaurant": RestaurantSection,
    "payments": PaymentsSection, "limits": LimitsSection, "backup": BackupSection,
}


def _env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for section, struct in _SCALAR_SECTIONS.items():
        for key in struct.__struct_fields__:
            name = f"TABLESIDE_AGENT_{key.upper()}" if section == "agent" else \
                f"TABLESIDE_AGENT_{section.upper()}_{key.upper()}"
            if name in env:
                raw.setdefault(section, {})[key] = env[name]


def _key_path(error: str) -> str:
    # msgspec says "... - at `$.broker.port`"; we say "broker.port: ..."
    message, _, where = error.rpartition(" - at `")
    if not where:
        return error
    return f"{where.rstrip('`').removeprefix('$.').removeprefix('$')}: {message}"


def validate(config: AgentConfig) -> AgentConfig:
    try:
        check_agent_id(config.agent.id)
    except ValueError as exc:
        raise ConfigError(f"agent.id: {exc}") from None
    names = [t.name for t in config.tables]
    if len(set(names)) != len(names):
        raise ConfigError("tables: two tables have the same name")
    printer_names = [p.name for p in config.printers]
    if len(set(printer_names)) != len(printer_names) or "pos" in printer_names:
        raise ConfigError("printers: names must be unique and not 'pos'")
    for i, printer in enumerate(config.printers):
        if not printer.stations:
            raise ConfigError(f"printers[{i}].stations: a printer serves at least one station")
        if printer.fallback is not None and (printer.fallback == printer.name or printer.fallback not in printer_names):
            raise ConfigError(f"printers[{i}].fallback: {printer.fallback!r} is not another configured printer")
    if not config.hub.url.startswith(("http://", "https://")):
        raise ConfigError(f"hub.url: expected an http(s) URL, got {config.hub.url!r}")
    return config


def from_dict(raw: dict[str, Any]) -> AgentConfig:
    try:
        # strict=False: environment values arrive as strings ("1884" -> 1884)
        config = msgspec.convert(raw, AgentConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_key_path(str(exc))) from None
    return validate(config)


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> AgentConfig:
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _paired(raw, env)
    _env_overrides(raw, env)
    return from_dict(raw)


def _paired(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """The pairing's agent id, hub and broker over the file's (see the module's note)."""
    data_dir = env.get("TABLESIDE_AGENT_DATA_DIR") or raw.get("agent", {}).get("data_dir") or AgentSection().data_dir
    try:
        pairing = read_pairing(Path(data_dir))
    except PairingError as exc:
        raise ConfigError(f"pairing: {exc}") from None
    if pairing is None:
        return
    raw.setdefault("agent", {})["id"] = pairing.agent_id
    raw.setdefault("hub", {})["url"] = pairing.hub_url
    broker = raw.setdefault("broker", {})
    broker.update(host=pairing.broker_host, port=pairing.broker_port, tls=pairing.broker_tls)
    if pairing.broker_tls:
        broker.update(cafile=str(pairing.cafile), certfile=str(pairing.certfile), keyfile=str(pairing.keyfile))
