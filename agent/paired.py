"""What a paired box knows of its pairing: {data_dir}/link/pairing.toml, written by
`tableside agent setup` (agent/link/pairing.py), read by agent/config.py."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

LINK_DIR = "link"
PAIRING_FILE = "pairing.toml"
HUB_CA_FILE = "hub-ca.crt"  # the private CA the hub's HTTPS chains to, when paired with --hub-ca


class PairingError(Exception):
    """Pairing did not happen; the message says why and what to do. Nothing was written."""


@dataclass(frozen=True)
class Pairing:
    """What a paired box knows about its pairing (link/pairing.toml)."""

    agent_id: str
    hub_url: str
    broker_host: str
    broker_port: int
    broker_tls: bool
    restaurant_id: str
    restaurant_name: str
    paired_at: str
    link_dir: Path

    @property
    def cafile(self) -> Path:
        return self.link_dir / "ca.crt"

    @property
    def hub_cafile(self) -> Path | None:
        """What the hub's HTTPS is checked against after pairing (renewal, backups): the --hub-ca
        given at pairing, or None for the system's CAs."""
        path = self.link_dir / HUB_CA_FILE
        return path if path.exists() else None

    @property
    def certfile(self) -> Path:
        return self.link_dir / "current" / "agent.crt"

    @property
    def keyfile(self) -> Path:
        return self.link_dir / "current" / "tls.key"


def read_pairing(data_dir: Path) -> Pairing | None:
    path = Path(data_dir) / LINK_DIR / PAIRING_FILE
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PairingError(f"{path}: unreadable ({exc}); pair again with `tableside agent setup --re-pair`") from None
    try:
        return Pairing(agent_id=raw["agent_id"], hub_url=raw["hub_url"], broker_host=raw["broker_host"],
                       broker_port=int(raw["broker_port"]), broker_tls=bool(raw["broker_tls"]),
                       restaurant_id=raw["restaurant_id"], restaurant_name=raw["restaurant_name"],
                       paired_at=raw["paired_at"], link_dir=path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise PairingError(f"{path}: missing or wrong {exc}; pair again with `tableside agent setup --re-pair`") from None
