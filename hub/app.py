"""The hub's aiohttp application factory."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub.appkeys import CONFIG, LINK, STORE
from hub.config import HubConfig
from hub.link import HubLink
from hub.payments.wiring import setup_payments
from hub.store import HubStore, migrate
from hub.web import agents_api, openapi, operator_api
from hub.web.errors import error_middleware

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds the link gets to leave the broker cleanly


def create_app(config: HubConfig) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[CONFIG] = config
    app.cleanup_ctx.append(_store_and_link)
    operator_api.setup_routes(app)
    agents_api.setup_routes(app)
    setup_payments(app)  # after _store_and_link: payments use the store and the link
    openapi.setup_routes(app)
    return app


def _prepare_database(config: HubConfig) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(config.database_url)


@contextlib.asynccontextmanager
async def _store_and_link(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    await asyncio.to_thread(_prepare_database, config)
    store = HubStore.open(config.database_url)
    link = HubLink(config, store)
    app[STORE] = store
    app[LINK] = link
    task = asyncio.create_task(link.run(), name="hub-link")
    try:
        yield
    finally:
        link.stop()  # leave the broker cleanly; cancel only if that takes too long
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()
        log.info("hub stopped")
