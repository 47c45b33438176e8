"""Staff sign-in, sessions, CSRF, roles and accounts, through a real aiohttp server."""

import json
from datetime import timedelta

from aiohttp import web

from agent.staff import clock, signin
from agent.state import STATE
from agent.web.staff.guard import COOKIE, refusal
from tests.agent.staff.helpers import PINS, add_account, csrf, sign_in, signed_in


async def _error(resp, status: int) -> dict:
    assert resp.status == status, await resp.text()
    return (await resp.json())["error"]


async def _scalar(client, sql: str, *args):
    return await client.app[STATE].database.read(lambda db: db.execute(sql, list(args)).fetchone()[0])


async def test_sign_in_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    resp = await staff_client.post("/api/v1/staff/session", json={"name": "ana", "secret": "1234"})
    assert resp.status == 200
    body = await resp.json()
    assert body["staff"]["name"] == "Ana" and body["staff"]["role"] == "manager" and body["staff"]["id"]
    assert len(body["csrf_token"]) >= 40
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain http on the restaurant network
    session_id = resp.cookies[COOKIE].value
    assert len(session_id) >= 43  # 256 bits
    # only a hash of the id is stored
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_sessions WHERE id_hash = ?", session_id) == 0
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_sessions") == 1
    again = await (await staff_client.get("/api/v1/staff/session")).json()
    assert again == body


async def test_secrets_are_stored_as_argon2_hashes(staff_client):
    await add_account(staff_client, "Ana", "manager", "correct horse")
    stored = await _scalar(staff_client, "SELECT secret_hash FROM staff_accounts")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


async def test_wrong_pin_and_unknown_name_get_the_same_answer(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    wrong = await _error(await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "9999"}), 401)
    nobody = await _error(await staff_client.post("/api/v1/staff/session",
                                                  json={"name": "Zoe", "secret": "9999"}), 401)
    assert wrong == nobody and wrong["code"] == "wrong_secret" and "do not match" in wrong["message"]
    assert COOKIE not in staff_client.session.cookie_jar.filter_cookies(staff_client.make_url("/"))
    assert (await staff_client.get("/api/v1/staff/session")).status == 401


async def test_five_wrong_pins_lock_the_account_for_15_minutes(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    for _ in range(4):
        await _error(await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "0000"}), 401)
    fifth = await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "0000"})
    locked = await _error(fifth, 429)
    assert locked["code"] == "locked_out" and "locked until" in locked["message"] and "in 15 minutes" in locked["message"]
    retry_at = clock.parse(locked["retry_at"])
    assert timedelta(minutes=14) < retry_at - clock.now() <= timedelta(minutes=15)
    assert 800 < int(fifth.headers["Retry-After"]) <= 900
    # even the right PIN is refused while locked, and nothing is signed in
    right = await _error(await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "1234"}), 429)
    assert right["code"] == "locked_out"
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_sessions") == 0


async def test_a_lock_out_ends_after_15_minutes(staff_client):
    account = await add_account(staff_client, "Ana", "manager", "1234")
    database = staff_client.app[STATE].database
    past = clock.now() - timedelta(minutes=20)
    for _ in range(5):
        try:
            await signin.sign_in(database, "Ana", "0000", "10.0.0.9", now=past,
                                 hasher=staff_client.app[STATE].hasher)
        except signin.SignInRefused as exc:
            last = exc
    assert last.code == "locked_out"
    assert await _scalar(staff_client, "SELECT locked_until FROM staff_accounts WHERE id = ?", account.id)
    assert await sign_in(staff_client, "Ana", "1234")  # 20 minutes later: fine again


async def test_a_right_pin_resets_the_count_of_failures(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    for _ in range(4):
        await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "0000"})
    await sign_in(staff_client, "Ana", "1234")
    for _ in range(4):
        await _error(await staff_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "0000"}), 401)


async def test_a_client_guessing_names_is_throttled(staff_client):
    await add_account(staff_client, "Ana", "manager", "1234")
    for i in range(signin.MAX_UNKNOWN_NAMES):
        await _error(await staff_client.post("/api/v1/staff/session", json={"name": f"guess{i}", "secret": "1111"}),
                     401)
    throttled = await _error(await staff_client.post("/api/v1/staff/session",
                                                     json={"name": "guess-more", "secret": "1111"}), 429)
    assert throttled["code"] == "too_many_attempts" and "Wait until" in throttled["message"]
    # a real account still signs in: the throttle is about names nobody has
    assert await sign_in(staff_client, "Ana", "1234")


async def test_bad_sign_in_bodies_are_clear_400s(staff_client):
    assert (await _error(await staff_client.post("/api/v1/staff/session", data=b"{nope",
                                                 headers={"Content-Type": "application/json"}), 400))["code"]
    missing = await _error(await staff_client.post("/api/v1/staff/session", json={"name": "Ana"}), 400)
    assert "PIN or password" in missing["message"]


async def test_no_session_is_401_sign_in_required(staff_client):
    err = await _error(await staff_client.get("/api/v1/staff/accounts"), 401)
    assert err["code"] == "sign_in_required"


async def test_an_idle_session_expires_after_12_hours(staff_client):
    token = await signed_in(staff_client, "manager")
    stale = clock.iso(clock.now() - timedelta(hours=12, minutes=1))
    await staff_client.app[STATE].database.write(
        lambda db: db.execute("UPDATE staff_sessions SET last_seen_at = ?", [stale]))
    for _ in range(2):  # every screen asking gets the same reason
        err = await _error(await staff_client.get("/api/v1/staff/session"), 401)
        assert err["code"] == "sign_in_required" and "expired" in err["message"] and err["reason"] == "expired"
    resp = await staff_client.post("/api/v1/staff/accounts", json={"name": "Bo", "role": "server", "secret": "1111"},
                                   headers=csrf(token))
    assert (await _error(resp, 401))["code"] == "sign_in_required"
    await sign_in(staff_client, "Manager", PINS["manager"])  # a new session; the dead one is tidied away
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_sessions") == 1


async def test_use_keeps_a_session_alive(staff_client):
    await signed_in(staff_client, "manager")
    almost = clock.iso(clock.now() - timedelta(hours=11))
    await staff_client.app[STATE].database.write(
        lambda db: db.execute("UPDATE staff_sessions SET last_seen_at = ?", [almost]))
    assert (await staff_client.get("/api/v1/staff/session")).status == 200
    seen = clock.parse(await _scalar(staff_client, "SELECT last_seen_at FROM staff_sessions"))
    assert clock.now() - seen < timedelta(minutes=1)


async def test_sign_out_needs_csrf_and_ends_the_session(staff_client):
    token = await signed_in(staff_client, "server")
    err = await _error(await staff_client.delete("/api/v1/staff/session"), 403)
    assert err["code"] == "csrf_failed" and "Reload the page" in err["message"]
    assert (await staff_client.get("/api/v1/staff/session")).status == 200  # still signed in
    assert (await staff_client.delete("/api/v1/staff/session", headers=csrf(token))).status == 200
    assert (await staff_client.get("/api/v1/staff/session")).status == 401
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_sessions") == 0


async def test_a_wrong_csrf_token_is_refused_and_nothing_changes(staff_client):
    token = await signed_in(staff_client, "manager")
    before = await _scalar(staff_client, "SELECT COUNT(*) FROM staff_accounts")
    resp = await staff_client.post("/api/v1/staff/accounts", json={"name": "Bo", "role": "server", "secret": "1111"},
                                   headers=csrf(token[:-2] + "xx"))
    assert (await _error(resp, 403))["code"] == "csrf_failed"
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_accounts") == before


async def test_managers_manage_accounts(staff_client):
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.post("/api/v1/staff/accounts", json={"name": "Bo", "role": "server", "secret": "1111"},
                                   headers=csrf(token))
    assert resp.status == 201
    bo = (await resp.json())["account"]
    assert bo["role"] == "server" and bo["secret_kind"] == "pin" and "secret_hash" not in bo
    listed = (await (await staff_client.get("/api/v1/staff/accounts")).json())["accounts"]
    assert {a["name"] for a in listed} == {"Manager", "Bo"}
    changed = await staff_client.patch(f"/api/v1/staff/accounts/{bo['id']}", json={"role": "kitchen"},
                                       headers=csrf(token))
    assert (await changed.json())["account"]["role"] == "kitchen"
    taken = await staff_client.post("/api/v1/staff/accounts", json={"name": "bo", "role": "server", "secret": "1111"},
                                    headers=csrf(token))
    assert (await _error(taken, 409))["code"] == "name_taken"


async def test_account_input_is_checked(staff_client):
    token = await signed_in(staff_client, "manager")
    for body, code in (({"name": "Bo", "role": "chef", "secret": "1111"}, "invalid_role"),
                       ({"name": "Bo", "role": "server", "secret": "12"}, "invalid_secret"),
                       ({"name": "Bo", "role": "server", "secret": "123456789"}, "invalid_secret"),
                       ({"name": "Bo", "role": "server", "secret": "short"}, "invalid_secret"),
                       ({"name": "", "role": "server", "secret": "1111"}, "invalid_name")):
        resp = await staff_client.post("/api/v1/staff/accounts", json=body, headers=csrf(token))
        assert (await _error(resp, 400))["code"] == code, body
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_accounts") == 1


async def test_a_new_secret_signs_the_account_out_and_lifts_a_lock(staff_client, other_client):
    token = await signed_in(staff_client, "manager")
    bo = await add_account(staff_client, "Bo", "server", "1111")
    await sign_in(other_client, "Bo", "1111")
    resp = await staff_client.patch(f"/api/v1/staff/accounts/{bo.id}", json={"secret": "long password"},
                                    headers=csrf(token))
    assert resp.status == 200
    assert (await other_client.get("/api/v1/staff/session")).status == 401
    assert await sign_in(other_client, "Bo", "long password")


async def test_disabling_an_account_ends_its_sessions_and_sign_in(staff_client, other_client):
    token = await signed_in(staff_client, "manager")
    bo = await add_account(staff_client, "Bo", "server", "1111")
    await sign_in(other_client, "Bo", "1111")
    assert (await staff_client.delete(f"/api/v1/staff/accounts/{bo.id}", headers=csrf(token))).status == 200
    assert (await other_client.get("/api/v1/staff/session")).status == 401
    again = await other_client.post("/api/v1/staff/session", json={"name": "Bo", "secret": "1111"})
    assert (await _error(again, 401))["code"] == "wrong_secret"


async def test_the_last_manager_cannot_be_demoted_or_disabled(staff_client):
    token = await signed_in(staff_client, "manager")
    me = (await (await staff_client.get("/api/v1/staff/session")).json())["staff"]
    resp = await staff_client.patch(f"/api/v1/staff/accounts/{me['id']}", json={"role": "server"},
                                    headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "last_manager"
    resp = await staff_client.delete(f"/api/v1/staff/accounts/{me['id']}", headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "last_manager"
    assert await _scalar(staff_client, "SELECT role FROM staff_accounts WHERE id = ?", me["id"]) == "manager"


async def test_kitchen_and_servers_cannot_manage_accounts(staff_client):
    token = await signed_in(staff_client, "kitchen")
    resp = await staff_client.post("/api/v1/staff/accounts", json={"name": "Bo", "role": "manager",
                                                                   "secret": "1111"}, headers=csrf(token))
    err = await _error(resp, 403)
    assert err["code"] == "forbidden" and "manager" in err["message"] and "kitchen" in err["message"]
    assert await _scalar(staff_client, "SELECT COUNT(*) FROM staff_accounts") == 1


def test_a_refusal_is_an_http_exception_with_our_json_body():
    """What staff_user raises in another module's handler, for the error middleware to pass on."""
    exc = refusal(403, "forbidden", "This needs the manager role.", roles=["manager"])
    assert isinstance(exc, web.HTTPForbidden) and exc.content_type == "application/json"
    assert json.loads(exc.text) == {"error": {"code": "forbidden", "message": "This needs the manager role.",
                                              "roles": ["manager"]}}
    assert exc.error_code == "forbidden" and exc.error_extra == {"roles": ["manager"]}
