"""The hub's `[ca] on_revoke` hook for Mosquitto: drop the live connections of revoked agents.

Mosquitto checks a client certificate against the CRL only in the TLS handshake; a connected
agent whose certificate is revoked stays connected, and SIGHUP (`on_crl_change`) only makes
*new* handshakes use the new CRL. So after the hub has written the CRL and the broker reread
it, this connects on the hub's own listener with each revoked agent's id as its client id. The
broker hands that client id over to the newcomer and closes the agent's connection (a session
takeover); this then leaves, and the agent's reconnect fails its handshake against the new CRL.
Only the hub's login can do this: on the agents' listener every client id is forced to the
certificate's CN (`use_username_as_clientid`). Everyone else stays connected.

    [ca]
    on_crl_change = "systemctl reload mosquitto"
    on_revoke = "/opt/tableside/bin/python /usr/share/tableside/mosquitto/kick_revoked.py"

The hub runs it with its own environment (so its TABLESIDE_HUB_* settings and broker password
are the hook's too) plus TABLESIDE_REVOKED_AGENTS, the agent ids, space-separated; the broker's
address and login are the hub's [broker] ones, from --config or TABLESIDE_HUB_CONFIG
(default /etc/tableside/hub.toml). Exits 1 when an agent could not be dropped.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

import aiomqtt

from contract.topics import check_agent_id
from hub import broker_login
from hub.config import ConfigError, HubConfig, load_config
from hub.enrollment.service import REVOKED_AGENTS_ENV

TIMEOUT_S = 10.0


async def kick(config: HubConfig, agent_id: str) -> None:
    """Take the agent's client id over, then leave (clean session: nothing is kept for it)."""
    async with aiomqtt.Client(**broker_login.client_args(config), identifier=agent_id,
                              clean_session=True, timeout=TIMEOUT_S):
        pass


async def kick_all(config: HubConfig, agent_ids: list[str]) -> list[str]:
    """The agent ids that could not be dropped, each with why."""
    failed = []
    for agent_id in agent_ids:
        try:
            await kick(config, agent_id)
        except aiomqtt.MqttError as exc:
            failed.append(f"{agent_id}: {exc}")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path,
                        default=Path(os.environ.get("TABLESIDE_HUB_CONFIG", "/etc/tableside/hub.toml")))
    args = parser.parse_args(argv)
    try:
        agent_ids = [check_agent_id(a) for a in os.environ.get(REVOKED_AGENTS_ENV, "").split()]
        config = load_config(args.config, os.environ)
    except (ConfigError, ValueError) as exc:
        print(f"kick_revoked: {exc}", file=sys.stderr)
        return 2
    failed = asyncio.run(kick_all(config, agent_ids))
    for line in failed:
        print(f"kick_revoked: not dropped: {line}", file=sys.stderr)
    if not failed and agent_ids:
        print(f"kick_revoked: dropped {' '.join(agent_ids)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
