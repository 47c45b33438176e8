"""Sign-in under attack (issue 15, findings 1 and 5): guesses sent all at once meet the lock-out
and the throttles as if sent one by one, sign-in refuses cross-site requests, and a flood of
sign-ins never slows the diner's table page."""

import asyncio
import statistics
import time

from agent.staff import signin
from agent.staff.hashing import SecretHasher
from agent.state import STATE
from tests.agent.helpers import table_tokens
from tests.agent.staff.helpers import add_account

URL = "/api/v1/staff/session"


async def _try(client, name, secret, **kw):
    async with client.post(URL, json={"name": name, "secret": secret}, **kw) as resp:
        return resp.status, (await resp.json()).get("error", {}).get("code")


async def test_guesses_at_once_are_counted_before_they_are_verified(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    guesses = [f"{n:04d}" for n in range(2000, 2099)] + ["1234"]
    answers = await asyncio.gather(*(_try(staff_client, "Ana", g) for g in guesses))
    verified = [a for a in answers if a[0] in (200, 401)]  # only a verified guess is told right or wrong
    assert len(verified) <= signin.MAX_FAILURES, answers
    assert all(a[0] == 429 for a in answers if a not in verified)


async def test_the_count_holds_without_the_per_client_limit(staff_client):
    """Many clients at once (the hasher's limits opened wide): the count in the lock's transaction
    alone keeps the verified guesses to MAX_FAILURES, then the account locks."""
    await add_account(staff_client, "Ana", "manager", "1234")
    database, hasher = staff_client.app[STATE].database, SecretHasher(per_client=1000, max_waiting=1000)

    async def guess(i, secret):
        try:
            await signin.sign_in(database, "Ana", secret, f"10.2.0.{i}", hasher=hasher)
            return "signed_in"
        except signin.SignInRefused as exc:
            return exc.code

    verified = []
    verify = hasher.verify
    hasher.verify = lambda *args: verified.append(args) or verify(*args)
    try:
        codes = await asyncio.gather(*(guess(i, f"{2000 + i:04d}") for i in range(100)))
        assert len(verified) == signin.MAX_FAILURES
        assert set(codes) <= {"wrong_secret", "locked_out"} and "locked_out" in codes
        assert await guess(200, "1234") == "locked_out"
    finally:
        hasher.close()


async def test_unknown_names_at_once_meet_the_throttle(staff_client):
    answers = await asyncio.gather(*(_try(staff_client, f"nobody{i}", "1111") for i in range(60)))
    assert sum(1 for status, _ in answers if status == 401) <= signin.MAX_UNKNOWN_NAMES
    assert sum(1 for status, _ in answers if status == 429) >= 60 - signin.MAX_UNKNOWN_NAMES


async def test_sign_in_refuses_cross_site_requests(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    body = b'{"name": "Ana", "secret": "1234"}'
    async with staff_client.post(URL, data=body, headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415 and (await resp.json())["error"]["code"] == "unsupported_media_type"
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        async with staff_client.post(URL, json={"name": "Ana", "secret": "1234"}, headers=headers) as resp:
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "cross_site"
    own = str(staff_client.make_url("/")).rstrip("/")
    assert (await _try(staff_client, "Ana", "1234", headers={"Origin": own}))[0] == 200


async def test_a_flood_of_sign_ins_does_not_slow_the_table_page(staff_client):
    token = (await table_tokens(staff_client))["Table 1"]
    database = staff_client.app[STATE].database
    hasher = staff_client.app[STATE].hasher

    async def stranger(i):
        try:
            await signin.sign_in(database, f"nobody{i}", "1111", f"10.1.{i // 250}.{i % 250}", hasher=hasher)
        except signin.SignInRefused:
            pass

    flood = [asyncio.create_task(stranger(i)) for i in range(200)]
    await asyncio.sleep(0)  # every attempt is under way
    took = []
    for _ in range(5):
        start = time.perf_counter()
        async with staff_client.get(f"/t/{token}") as resp:
            assert resp.status == 200
            await resp.read()
        took.append(time.perf_counter() - start)
    await asyncio.gather(*flood)
    assert statistics.median(took) < 0.5, took
