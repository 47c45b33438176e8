"""How the hub logs in to the broker: host, port, its password login and, when `[broker] tls`,
TLS checked against `[broker] cafile` (or the system's CAs). One place for the link, `tableside
hub check` and the revoke hook, so they cannot disagree about how to reach the broker."""

import ssl
from typing import Any

import aiomqtt

from hub.config import HubConfig


def client_args(config: HubConfig) -> dict[str, Any]:
    """Keyword arguments for aiomqtt.Client (add identifier and the rest at the call)."""
    tls = None
    if config.broker_tls:
        tls = aiomqtt.TLSParameters(ca_certs=str(config.broker_cafile) if config.broker_cafile else None,
                                    cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return {"hostname": config.broker_host, "port": config.broker_port, "username": config.broker_username,
            "password": config.broker_password, "tls_params": tls}
