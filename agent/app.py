"""The agent's aiohttp application: create_app(config) and its start-up and clean-up."""

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import sqlite_utils
from aiohttp import web

from agent.backup import recovery_code
from agent.backup.service import BACKUPS, BackupMetrics, BackupService
from agent.config import AgentConfig
from agent.devices.device import build_devices
from agent.devices.dispatch import Dispatcher
from agent.devices.feed import DeviceFeed
from agent.devices.jobs import POS_DEVICE
from agent.events import EventBus
from agent.link import hub_pushes, payments_inbox
from agent.link.hub_pushes import stored_settings, with_settings
from agent.link.identity import load_or_create_key, public_key_of
from agent.link.pump import AgentLink
from agent.link.renewal import Renewal
from agent.menu.catalog import MenuDoc, import_menu, load_menu_file, menu_is_empty, read_menu
from agent.menu.pos_sync import poll_pos_updates, sync_from_pos
from agent.paired import read_pairing
from agent.state import STATE, AgentState
from agent.store.database import Database
from agent.store.migrations import migrate
from agent.visits import bill_feed, tables
from agent.visits.visit_ends import end_visits_when_over
from agent.web import openapi, pos_webhook
from agent.web.compressed import HOT, HOT_SIZE, Cache
from agent.web.diner import notices, orders_api, pages, receipt_page, visit_api, vitals_api
from agent.web.errors import error_middleware
from agent.web.metrics import METRICS, AgentMetrics, metrics, timing_middleware
from agent.web.rate_limits import LIMITS, DinerLimits
from agent.web.same_origin import same_origin
from agent.web.security_headers import add_security_headers
from agent.web.slow_bodies import body_deadline
from agent.web.staff.routes import staff_routes
from agent.web.static_files import STATIC
from contract.openapi import checking as openapi_checks

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # an order is a few KB; anything bigger is a mistake or an attack


def create_app(config: AgentConfig) -> web.Application:
    # timing outermost, so a refusal the error middleware writes is timed with its own status
    app = web.Application(middlewares=[timing_middleware, error_middleware, same_origin,
                                       body_deadline(config.http.body_timeout), *openapi_checks()],
                            client_max_size=MAX_BODY)
    app[METRICS] = AgentMetrics()
    app[HOT] = Cache(HOT_SIZE)
    app.add_routes(orders_api.routes)
    app.add_routes(visit_api.routes)
    app.add_routes(staff_routes)
    app.add_routes(notices.routes)  # before pages: /t/back is not a table token
    app.add_routes(pages.routes)
    app.add_routes(receipt_page.routes)
    app.add_routes(pos_webhook.routes)
    app.router.add_get("/metrics", metrics)
    vitals_api.setup(app)
    app.add_routes(openapi.routes)
    app.router.add_static("/static", STATIC, append_version=False)
    app[LIMITS] = DinerLimits(config.limits)
    app.cleanup_ctx.append(partial(_lifecycle, config))
    app.on_shutdown.append(_end_streams)
    app.on_response_prepare.append(add_security_headers)  # one hook: each costs every request a coroutine
    return app


async def _end_streams(app: web.Application) -> None:
    """Open event streams would hold shutdown up for its whole timeout: end them first."""
    if STATE in app:
        app[STATE].events.close()


def _first_start(db: sqlite_utils.Database, config: AgentConfig, menu: MenuDoc | None) -> None:
    if menu is not None and menu_is_empty(db):
        import_menu(db, menu)
    tables.ensure_tables(db, [t.name for t in config.tables])


STOP_GRACE = 5.0  # seconds the link gets to say goodbye to the broker


async def _stop(tasks: list[asyncio.Task], link: AgentLink | None, link_task: asyncio.Task | None) -> None:
    if link is not None and link_task is not None:
        link.stop()  # let it leave the broker cleanly before anything is cancelled
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(link_task), STOP_GRACE)
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    stopped, stuck = await asyncio.wait(tasks, timeout=STOP_GRACE)
    for task in stopped:
        if not task.cancelled() and task.exception() is not None:
            log.error("task had failed", extra={"task": task.get_name()}, exc_info=task.exception())
    for task in stuck:  # shut down anyway, and say what would not stop, so it can be fixed
        where = io.StringIO()
        task.print_stack(file=where)
        log.error("task did not stop when cancelled", extra={"task": task.get_name(), "stack": where.getvalue()})


async def _import_pos_menu(state: AgentState, pos) -> None:
    """A POS that is down at start-up must not keep the agent from taking orders."""
    try:
        result = await sync_from_pos(state, pos)
        log.info("menu imported from the POS", extra={"items_created": result.created, "updated": result.updated,
                                                      "retired": result.retired})
    except Exception as exc:
        log.warning("menu import from the POS failed; keeping the stored menu", extra={"error": str(exc)})


async def _start_backups(app: web.Application, config: AgentConfig, database: Database, events: EventBus,
                         wake_link) -> list[asyncio.Task]:
    """Always on (agent/backup/service.py); sealed with the restaurant's recovery code, uploaded when paired."""
    code, _ = await asyncio.to_thread(recovery_code.load_or_create, config.data_dir)
    pairing = await asyncio.to_thread(read_pairing, config.data_dir)
    paired = pairing if pairing is not None and pairing.agent_id == config.agent.id else None
    service = app[BACKUPS] = BackupService(config, database, recovery_code.derive(code), pairing=paired,
                                           events=events, metrics=BackupMetrics(app[METRICS].registry),
                                           wake_link=wake_link)
    return await service.start()


async def _renewal(config: AgentConfig, link: AgentLink) -> Renewal | None:
    """A box paired for TLS renews its certificate; it reconnects the link on the new one."""
    pairing = await asyncio.to_thread(read_pairing, Path(config.data_dir))
    if pairing is None or not config.broker.tls:
        return None
    return Renewal(pairing.link_dir, config.hub.url, link.reconnect, hub_cafile=pairing.hub_cafile)


@contextlib.asynccontextmanager
async def _lifecycle(config: AgentConfig, app: web.Application) -> AsyncIterator[None]:
    database = Database(Path(config.data_dir) / "agent.sqlite")
    database.start()
    tasks: list[asyncio.Task] = []
    devices = {}
    link = link_task = None
    try:
        await asyncio.to_thread(migrate, database)
        needs_menu = await database.read(menu_is_empty)
        menu_doc = await asyncio.to_thread(load_menu_file, config.restaurant.menu or None) if needs_menu else None
        await database.write(_first_start, config, menu_doc)
        menu = await database.read(read_menu)
        # tickets print in the menu's own language, with the code page that language needs
        devices = build_devices(config, language=menu.restaurant.get("locale", "en"))
        dispatcher = Dispatcher(database, devices, config.dispatch)
        signing_key = await asyncio.to_thread(load_or_create_key, config.data_dir)
        events = EventBus()
        config = with_settings(config, await database.read(stored_settings))

        def current_config() -> AgentConfig:  # settings pushed by the hub change it while running
            return app[STATE].config

        async def after_apply(message_type: str) -> None:
            await app[STATE].after_hub_message(message_type)

        handlers = {**payments_inbox.make_handlers(current_config), **hub_pushes.HANDLERS}
        link = AgentLink(config, database, handlers=handlers, events=events,
                         public_key=public_key_of(signing_key), after_apply=after_apply)
        renewal = await _renewal(config, link)
        app[STATE] = AgentState(config, database, menu, dispatcher, link, events=events, signing_key=signing_key,
                                renewal=renewal)
        await app[STATE].reload_tables()
        link_task = asyncio.create_task(link.run(), name="link")
        feed = DeviceFeed(database, dispatcher, config.agent.id, link.wake)
        tasks = [asyncio.create_task(dispatcher.run(), name="dispatcher"), link_task,
                 asyncio.create_task(feed.run(), name="device-feed"),
                 asyncio.create_task(end_visits_when_over(database, events, current_config, link.wake),
                                     name="visit-ends"),
                 asyncio.create_task(bill_feed.run(database, current_config, link.wake), name="bill-reports")]
        tasks += await _start_backups(app, config, database, events, link.wake)
        if renewal is not None:
            tasks.append(asyncio.create_task(renewal.run(), name="certificate-renewal"))
        if POS_DEVICE in devices:
            pos = devices[POS_DEVICE].pos
            if config.pos.import_menu_on_start:
                await _import_pos_menu(app[STATE], pos)
            tasks.append(asyncio.create_task(poll_pos_updates(app[STATE], pos, config.pos.poll_interval),
                                             name="pos-poll"))
        log.info("agent started", extra={"agent_id": config.agent.id, "devices": list(devices)})
        yield
    finally:
        if STATE in app:
            tasks += app[STATE].bill_news.values()
        await _stop(tasks, link, link_task)
        if STATE in app:
            app[STATE].hasher.close()
        if BACKUPS in app:
            await asyncio.to_thread(app[BACKUPS].close)
        for device in devices.values():
            with contextlib.suppress(Exception):
                await device.close()
        await asyncio.to_thread(database.close)
