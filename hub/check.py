"""`tableside hub check`: what a hub install still lacks, said plainly, before the first restaurant.

The package creates no database and configures no broker or Stripe account, so the operator runs
this after editing hub.toml/hub.env: the database reachable and migrated, the broker reachable
with the hub's login, the Stripe key accepted (or the demo provider, said so), the public URL
over https (Stripe redirects diners there and sends webhooks to it). Each finding is one line;
nothing is written anywhere.
"""

import asyncio
import secrets
from dataclasses import dataclass

import aiomqtt
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from hub import broker_login
from hub.config import HubConfig
from hub.payments.providers import ProviderError
from hub.payments.stripe_provider import StripeProvider
from hub.store.engine import make_engine
from hub.store.migrate import alembic_config

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str


def _database(config: HubConfig) -> Finding:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(config.database_url, pooled=False)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return Finding("database", False, f"cannot connect: {str(exc).splitlines()[0][:200]}")
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if current != head:
        return Finding("database", False, f"{where} is at migration {current or 'none'}, not {head}: "
                                          "`tableside hub run` (or the package's upgrade) migrates it")
    return Finding("database", True, f"{where}, migrated ({head})")


async def _broker(config: HubConfig) -> Finding:
    where = f"{config.broker_host}:{config.broker_port}"
    try:
        async with asyncio.timeout(TIMEOUT_S), aiomqtt.Client(
                **broker_login.client_args(config), identifier=f"hub-check-{secrets.token_hex(8)}", timeout=TIMEOUT_S):
            pass
    except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
        return Finding("broker", False, f"{where} refused the hub's login or did not answer: {exc or type(exc).__name__}")
    login = f"as {config.broker_username}" if config.broker_username else "without a login"
    return Finding("broker", True, f"{where}, {login}")


async def _stripe(config: HubConfig) -> Finding:
    if not config.stripe_secret_key:
        return Finding("stripe", False, "no [stripe] secret_key: the demo provider takes no real money")
    if not config.stripe_webhook_secret:
        return Finding("stripe", False, "no [stripe] webhook_secret: webhooks would be refused")
    try:
        await StripeProvider(config.stripe_secret_key, config.stripe_api_base, max_network_retries=0).check_key()
    except ProviderError as exc:
        return Finding("stripe", False, f"the key was refused: {exc}")
    mode = "live" if config.stripe_secret_key.startswith(("sk_live_", "rk_live_")) else "test"
    return Finding("stripe", True, f"the {mode} key is accepted by {config.stripe_api_base}")


def _public_url(config: HubConfig) -> Finding:
    url = config.public_url
    if not url.startswith("https://"):
        return Finding("public_url", False, f"{url} is not https: Stripe needs https for redirects and webhooks")
    return Finding("public_url", True, url)


async def check(config: HubConfig) -> list[Finding]:
    database = asyncio.to_thread(_database, config)
    return [await database, await _broker(config), await _stripe(config), _public_url(config)]


def report(findings: list[Finding]) -> str:
    lines = [f"{'ok  ' if f.ok else 'FAIL'}  {f.what:<11} {f.detail}" for f in findings]
    bad = sum(not f.ok for f in findings)
    lines.append("Everything is in place." if not bad else f"{bad} to fix before the hub takes real payments.")
    return "\n".join(lines)
