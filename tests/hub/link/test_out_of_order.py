"""A shared subscription hands one agent's consecutive messages to different workers, so a message
may arrive before the one it needs: it waits and is tried again, never rejected for its order."""

import asyncio

import aiomqtt
import pytest
from sqlalchemy import func, select

from contract import envelope, topics
from contract.ids import uuid7
from contract.messages import RefundRecorded, RefundRequested
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.link.applying import Incoming
from hub.store.tables import rejected_messages
from tests.hub.factories import encoded, payment_taken
from tests.hub.payments.conftest import AGENT, create_restaurant, hub_config
from tests.hub.payments.helpers import assert_ledger_balanced, queued
from tests.waiting import eventually


def incoming(data, *, seq: int) -> Incoming:
    return Incoming(topics.up(AGENT, data.TYPE), encoded(AGENT, data, seq=seq), qos=1)


async def rejected(client) -> int:
    store = client.app[STORE]
    return await store._run(store._in_connection,
                            lambda conn: conn.execute(select(func.count()).select_from(rejected_messages)).scalar_one())


@pytest.fixture
async def hub(aiohttp_client, tmp_path, database_url):
    client = await aiohttp_client(create_app(hub_config(tmp_path, database_url)))
    await create_restaurant(client)
    return client


async def test_a_refund_before_its_payment_waits_and_then_applies(hub):
    link = hub.app[LINK]
    cash = payment_taken()
    refund = RefundRequested(refund_id=uuid7(), payment_id=cash.payment_id, amount_minor=500, reason="cold")
    early = incoming(refund, seq=2)  # sent after the payment, arrived first

    acks, waiting = await link.apply_many([early])
    assert (acks, waiting) == ([], [early])  # neither applied nor rejected: it waits
    assert await rejected(hub) == 0

    acks, waiting = await link.apply_many([incoming(cash, seq=1)])
    assert len(acks) == 1 and waiting == []
    acks, waiting = await link.apply_many([early])  # the retry, now its payment is there
    assert [message_id for _, message_id in acks] == [envelope.decode(early.payload).id] and waiting == []

    # applied against the payment: a cash payment is refunded at the till, so staff hear "failed"
    [recorded] = [m for _, m in await queued(hub, AGENT) if isinstance(m, RefundRecorded)]
    assert (recorded.refund_id, recorded.status) == (refund.refund_id, "failed")
    assert "not_a_card_payment" in recorded.reason or "platform" in recorded.reason
    assert await rejected(hub) == 0
    await assert_ledger_balanced(hub)


@pytest.mark.service
async def test_over_the_broker_the_early_refund_is_acked_once_its_payment_arrives(aiohttp_client, tmp_path,
                                                                                  database_url, broker):
    config = hub_config(tmp_path, database_url)
    config = type(config)(**{**{f: getattr(config, f) for f in config.__dataclass_fields__},
                             "broker_port": broker.port})
    client = await aiohttp_client(create_app(config))
    await create_restaurant(client)
    await asyncio.wait_for(client.app[LINK].wait_connected(), 10)
    cash = payment_taken()
    refund = RefundRequested(refund_id=uuid7(), payment_id=cash.payment_id, amount_minor=500)
    refund_body, cash_body = encoded(AGENT, refund, seq=2), encoded(AGENT, cash, seq=1)
    wanted = {envelope.decode(refund_body).id, envelope.decode(cash_body).id}
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier=f"test-{AGENT}") as agent:
        await agent.subscribe(topics.down(AGENT, "ack"), qos=1)
        await agent.publish(topics.up(AGENT, refund.TYPE), refund_body, qos=1)
        link = client.app[LINK]
        # the payment is sent only once the refund is seen waiting: the wrong order for sure
        await eventually(lambda: link.outcomes[("refund.requested", "waiting")] >= 1, within=10,
                         what="the refund waiting for its payment")
        await agent.publish(topics.up(AGENT, cash.TYPE), cash_body, qos=1)
        acked: set[str] = set()
        async with asyncio.timeout(20):
            async for message in agent.messages:
                acked.update(envelope.decode_data(envelope.decode(message.payload)).ids)
                if wanted <= acked:
                    break
    assert await rejected(client) == 0
