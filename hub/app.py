"""The hub's aiohttp application factory."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from contract.openapi import checking as openapi_checks
from hub.appkeys import BACKUPS, CONFIG, ENROLLMENT, LINK, STORE
from hub.backups.blobs import BlobStore
from hub.config import HubConfig
from hub.enrollment import crl
from hub.enrollment.service import Enrollment
from hub.link import HubLink
from hub.metrics import METRICS, HubMetrics, http_timing
from hub.metrics import serve as serve_metrics
from hub.metrics_state import keep_fresh
from hub.payments.wiring import setup_payments
from hub.store import HubStore, migrate
from hub.store.singleton import run_as_singleton
from hub.web import agents_api, backups_api, enrollment_api, openapi, operator_api
from hub.web.errors import error_middleware

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds the link gets to leave the broker cleanly
STORE_THREADS_BESIDES_LINK = 4


def create_app(config: HubConfig) -> web.Application:
    app = web.Application(middlewares=[http_timing, error_middleware, *openapi_checks()])
    app[CONFIG] = config
    app[METRICS] = HubMetrics()
    app.cleanup_ctx.append(_store_and_link)
    operator_api.setup_routes(app)
    agents_api.setup_routes(app)
    enrollment_api.setup_routes(app)
    app[BACKUPS] = BlobStore(config.backups_dir, config.backups_keep)
    backups_api.setup_routes(app)
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
    # threads (and connections) enough for the link's batches and, besides them, HTTP's queries
    store = HubStore.open(config.database_url, workers=config.batches_at_once + STORE_THREADS_BESIDES_LINK)
    link = HubLink(config, store, metrics=app[METRICS])
    app[STORE] = store
    app[LINK] = link
    enrollment = app[ENROLLMENT] = Enrollment(config, store.engine, on_revoked=link.roster.forget)
    ca = await enrollment.ca()  # made at the first start: a broker's config can point at its files
    task = asyncio.create_task(link.run(), name="hub-link")
    async with contextlib.AsyncExitStack() as stack:
        # one worker at a time keeps the CRL fresh (hub/enrollment/crl.py)
        fresh = asyncio.create_task(run_as_singleton(
            store.engine, "hub.enrollment.crl", lambda: crl.keep_fresh(ca, store.engine, config)), name="hub-crl")
        stack.push_async_callback(_cancelled, fresh)
        if config.metrics_port is not None:
            metrics = app[METRICS]
            metrics.watch_pool(store.engine)
            state = asyncio.create_task(keep_fresh(metrics.state, store.engine, config.crl_path,
                                                   metrics.state_every_s), name="hub-metrics-state")
            stack.push_async_callback(_cancelled, state)
            port = await stack.enter_async_context(serve_metrics(app[METRICS], config.metrics_host,
                                                                 config.metrics_port))
            app[METRICS].port = port
            log.info("metrics on http://%s:%d/metrics", config.metrics_host, port)
        try:
            yield
        finally:
            await _stop(link, task, store)


async def _cancelled(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop(link: HubLink, task: asyncio.Task, store: HubStore) -> None:
    link.stop()  # leave the broker cleanly; cancel only if that takes too long
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.close()
    log.info("hub stopped")
