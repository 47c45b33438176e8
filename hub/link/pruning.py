"""Deleting what the link no longer needs: delivered down messages and old applied up ids."""

import asyncio
import logging
from datetime import timedelta

from hub.store import HubStore

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


async def prune_periodically(store: HubStore, retention_days: float) -> None:
    older_than = timedelta(days=retention_days)
    while True:
        try:
            pruned = await store.prune_down(older_than)
            # applied up ids: kept twice as long as agents keep delivered rows; a resend older
            # than that is still stopped by each record's own key (order id, payment id)
            seen = await store.prune_inbox(older_than * 2)
            if pruned or seen:
                log.info("pruned delivered down messages count=%d applied up ids count=%d", pruned, seen)
        except Exception:  # a failed prune must not end the link; try next time
            log.exception("down prune failed")
        await asyncio.sleep(PRUNE_EVERY_S)
