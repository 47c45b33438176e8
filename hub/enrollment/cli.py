"""`tableside hub enroll|codes|revoke|broker-cert`: the operator's enrollment commands.

They work on the hub's database and CA directly, with the hub's own config, beside a running hub
(whose workers heed a revocation within hub/link/roster.py's ENROLLED_TTL_S, 30 s; the worker that
revokes, at once).
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.config import ConfigError, HubConfig, load_config
from hub.enrollment.ca import pem, write_private
from hub.enrollment.service import Enrollment, EnrollmentRefused
from hub.store import migrate
from hub.store.engine import make_engine

SERVER_CERT_DAYS = 825


def add_parsers(hub: Any) -> None:
    enroll = hub.add_parser("enroll", help="make a one-time code that pairs a box with a restaurant")
    enroll.add_argument("restaurant", help="the restaurant's id (tableside hub restaurant list)")
    enroll.add_argument("--replace", action="store_true",
                        help="the new box replaces the restaurant's current one, which is revoked when it pairs")
    enroll.add_argument("--minutes", type=float, default=None, help="how long the code is valid (default 30)")
    enroll.add_argument("--config", type=Path)
    codes = hub.add_parser("codes", help="enrollment codes").add_subparsers(dest="codes_action", required=True)
    listing = codes.add_parser("list", help="a restaurant's codes and their state (never their values)")
    listing.add_argument("restaurant")
    listing.add_argument("--config", type=Path)
    cancel = codes.add_parser("cancel", help="cancel a code not used yet")
    cancel.add_argument("code_id")
    cancel.add_argument("--config", type=Path)
    revoke = hub.add_parser("revoke", help="revoke an agent: the broker and the hub refuse it from now on")
    revoke.add_argument("agent_id")
    revoke.add_argument("--reason", default="revoked by the operator")
    revoke.add_argument("--config", type=Path)
    broker = hub.add_parser("broker-cert", help="a TLS certificate for the broker, signed by the hub's CA")
    broker.add_argument("names", nargs="+", help="the broker's host names or IP addresses, as agents reach it")
    broker.add_argument("--out", type=Path, required=True, help="directory for server.crt, server.key, ca.crt")
    broker.add_argument("--config", type=Path)


async def _run(config: HubConfig, args: argparse.Namespace) -> str:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate, config.database_url)
    engine = make_engine(config.database_url, pool_size=2)
    enrollment = Enrollment(config, engine)
    try:
        if args.action == "enroll":
            code, view = await enrollment.make_code(args.restaurant, replaces=args.replace, minutes=args.minutes)
            what = "replaces the restaurant's current box" if args.replace else "pairs a box"
            return (f"Enrollment code for {args.restaurant} ({what}):\n\n    {code}\n\n"
                    f"Valid until {view['expires_at']:%Y-%m-%d %H:%M} UTC, once. It is shown only now.\n"
                    f"On the box: sudo tableside agent setup --hub {config.public_url} --code {code}")
        if args.action == "codes" and args.codes_action == "list":
            rows = await enrollment.list_codes(args.restaurant)
            return "\n".join(f"{r['id']}  {r['state']:<9} {'replace' if r['replaces'] else 'new':<7} "
                             f"expires {r['expires_at']:%Y-%m-%d %H:%M}  {r['used_by'] or ''}" for r in rows) \
                or f"no enrollment codes for {args.restaurant}"
        if args.action == "codes":
            view = await enrollment.cancel_code(args.code_id)
            if view is None:
                raise EnrollmentRefused(404, "not_found", f"no enrollment code {args.code_id!r}")
            return f"{view['id']}: {view['state']}"
        if args.action == "revoke":
            if not await enrollment.revoke(args.agent_id, args.reason):
                raise EnrollmentRefused(404, "not_found", f"no enrolled agent {args.agent_id!r} that is not revoked")
            return f"revoked {args.agent_id}; the CRL at {config.crl_path} lists it"
        return await _broker_cert(enrollment, args)
    finally:
        await asyncio.to_thread(engine.dispose)


async def _broker_cert(enrollment: Enrollment, args: argparse.Namespace) -> str:
    ca = await enrollment.ca()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_server(key.public_key(), args.names, SERVER_CERT_DAYS)
    args.out.mkdir(parents=True, exist_ok=True)
    write_private(args.out / "server.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (args.out / "server.crt").write_text(pem(cert))
    (args.out / "ca.crt").write_text(ca.cert_pem)
    return f"wrote server.crt, server.key (0600) and ca.crt to {args.out} for {', '.join(args.names)}"


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, os.environ)
        print(asyncio.run(_run(config, args)))
    except ConfigError as exc:
        print(f"tableside hub: configuration error: {exc}", file=sys.stderr)
        return 2
    except EnrollmentRefused as exc:
        print(f"tableside hub {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0
