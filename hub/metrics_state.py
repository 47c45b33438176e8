"""Gauges of the platform's state that need the database or a file: agents online, agents gone
while diners sit at an open bill, the downlink waiting (in all, and the agents with most), and the
CRL's dates.

A periodic task (`keep_fresh`, every STATE_EVERY_S) reads them in a thread into a snapshot; a
scrape only formats the last snapshot, so Prometheus never makes the hub query, and the per-agent
series are the top few, never one per agent of the platform. The values are the shared
database's, so every worker reports the same ones: queries take max() over workers, not sum().
"""

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine

from hub.store.fleet import FleetSnapshot, snapshot

log = logging.getLogger(__name__)

STATE_EVERY_S = 15.0  # about one scrape interval: fresher would only repeat the same counts


@dataclass(frozen=True)
class CrlDates:
    last_update: datetime
    next_update: datetime | None


def read_crl(path: Path | None) -> CrlDates | None:
    """The CRL's dates, None when there is none (no CA yet) or it cannot be read."""
    if path is None:
        return None
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError):
        return None
    return CrlDates(crl.last_update_utc, crl.next_update_utc)


class StateGauges(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.fleet: FleetSnapshot | None = None  # None until the first read
        self.crl: CrlDates | None = None
        self.read_at: float | None = None
        registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        fleet = self.fleet
        if fleet is not None:
            yield GaugeMetricFamily("tableside_hub_agents_online", "Agents (not revoked) connected now (the same "
                                    "on every worker: max())", value=fleet.agents_online)
            yield GaugeMetricFamily("tableside_hub_agents_offline_with_open_bills", "Agents (not revoked) "
                                    "disconnected while a bill is open at one of their tables (gone under 12 h)",
                                    value=fleet.agents_offline_with_open_bills)
            gone = GaugeMetricFamily("tableside_hub_agent_offline_with_open_bills_seconds", "Seconds since "
                                     "each of the longest-gone such agents was last seen (top few only)",
                                     labels=["agent"])
            for agent_id, seconds in fleet.offline_with_open_bills.items():
                gone.add_metric([agent_id], seconds)
            yield gone
            yield GaugeMetricFamily("tableside_hub_downlink_waiting_messages", "Hub -> agent messages not "
                                    "yet acknowledged, all agents", value=fleet.downlink_waiting)
            top = GaugeMetricFamily("tableside_hub_downlink_waiting_top_messages", "Hub -> agent messages not "
                                    "yet acknowledged, for the agents with most (top few only)", labels=["agent"])
            for agent_id, n in fleet.downlink_waiting_top.items():
                top.add_metric([agent_id], n)
            yield top
        if self.crl is not None:
            yield GaugeMetricFamily("tableside_hub_crl_last_update_timestamp_seconds", "When the broker's "
                                    "revocation list was signed", value=self.crl.last_update.timestamp())
            if self.crl.next_update is not None:
                yield GaugeMetricFamily("tableside_hub_crl_next_update_timestamp_seconds", "When the broker's "
                                        "revocation list runs out (past it, the broker refuses every agent)",
                                        value=self.crl.next_update.timestamp())
        if self.read_at is not None:
            yield GaugeMetricFamily("tableside_hub_state_read_timestamp_seconds", "When these state gauges "
                                    "were last read from the database", value=self.read_at)

    async def refresh(self, engine: Engine, crl_path: Path | None) -> None:
        def read() -> tuple[FleetSnapshot, CrlDates | None]:
            with engine.connect() as conn:
                return snapshot(conn), read_crl(crl_path)
        self.fleet, self.crl = await asyncio.to_thread(read)
        self.read_at = time.time()


async def keep_fresh(gauges: StateGauges, engine: Engine, crl_path: Path | None, every_s: float) -> None:
    """Refresh every `every_s` until cancelled; a failed read keeps the last values (their read
    time says how old they are) and is tried again next time."""
    while True:
        try:
            await gauges.refresh(engine, crl_path)
        except Exception:
            log.exception("state gauges not read; trying again in %.0fs", every_s)
        await asyncio.sleep(every_s)
