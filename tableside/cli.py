"""The `tableside` console script: demo, agent, hub and printer tools as sub-commands."""

import argparse
import asyncio
import errno
import faulthandler
import logging
import os
import signal
import sys
from pathlib import Path

from tableside import collector, exits, logs
from tableside.configs import loaded


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 0-65535 (0 picks a free one)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tableside", description="Table-side ordering and payment.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run broker, hub, agent, printer emulators and demo POS on loopback")
    demo.add_argument("--data-dir", type=Path, default=Path("demo-data"))
    demo.add_argument("--agent-port", type=_port, default=8080)
    demo.add_argument("--hub-port", type=_port, default=8090)
    demo.add_argument("--broker-port", type=_port, default=0)

    agent = sub.add_parser("agent", help="the restaurant-side service").add_subparsers(dest="action", required=True)
    agent_run = agent.add_parser("run", help="serve the agent")
    agent_run.add_argument("--config", type=Path, help="TOML file (TABLESIDE_AGENT_* variables override it)")
    setup = agent.add_parser("setup", help="pair this box with the hub using the operator's one-time code")
    setup.add_argument("--config", type=Path, help="the agent's TOML file (its data_dir receives the pairing)")
    setup.add_argument("--hub", help="the hub's URL, https://... (asked for when left out)")
    setup.add_argument("--code", help="the enrollment code, e.g. K7QF-2MXD (asked for when left out)")
    setup.add_argument("--re-pair", action="store_true", help="pair again although this box is paired")
    setup.add_argument("--hub-ca", type=Path, help="a CA certificate to trust for the hub's HTTPS "
                       "(a private hub; kept for renewal and backups; default: the system's)")
    setup.add_argument("--pair-only", action="store_true", help="pair and stop (no printers, service or QR)")
    setup.add_argument("--skip-pairing", action="store_true", help="leave pairing out (a box paired already)")
    setup.add_argument("--skip-printers", action="store_true", help="no printer search and no test pages")
    setup.add_argument("--skip-service", action="store_true", help="do not enable and start tableside-agent")
    from agent.backup.cli import add_backup_parser, add_replace_arguments

    add_replace_arguments(setup)  # --replace, --recovery-code, --from-file (a replacement box)
    add_backup_parser(agent)  # agent backup now|list|verify|code
    add_staff = agent.add_parser("add-staff", help="create a staff account (the first manager at set-up)")
    add_staff.add_argument("--config", type=Path, help="the agent's TOML file")
    add_staff.add_argument("--name", required=True)
    add_staff.add_argument("--role", required=True, choices=("manager", "server", "kitchen"))
    add_staff.add_argument("--secret", help="PIN (4-8 digits) or password; asked for when left out")

    hub = sub.add_parser("hub", help="the cloud service").add_subparsers(dest="action", required=True)
    hub_run = hub.add_parser("run", help="serve the hub")
    hub_run.add_argument("--config", type=Path, help="TOML file (TABLESIDE_HUB_* variables override it)")
    hub_run.add_argument("--workers", type=int, default=1, help="hub processes sharing the HTTP port and the "
                         "link (PostgreSQL only; docs/scaling.md)")
    from hub.payments.cli import add_parsers as add_hub_payment_parsers

    add_hub_payment_parsers(hub)  # hub restaurant create|list, hub report, hub reconcile
    from hub.enrollment.cli import add_parsers as add_hub_enrollment_parsers

    add_hub_enrollment_parsers(hub)  # hub enroll, hub codes list|cancel, hub revoke, hub broker-cert
    hub_check = hub.add_parser("check", help="what the install still lacks: database, broker, Stripe, https")
    hub_check.add_argument("--config", type=Path, help="TOML file (TABLESIDE_HUB_* variables override it)")

    printer = sub.add_parser("printer", help="printer tools").add_subparsers(dest="action", required=True)
    printer_list = printer.add_parser("list", help="configured printers with their status, serial ports, "
                                                   "USB printers, and hosts that take raw printing")
    printer_list.add_argument("--config", type=Path)
    printer_list.add_argument("--host", action="append", default=[], help="a host to try on TCP 9100 (repeat)")
    printer_test = printer.add_parser("test", help="print a test page and report the printer's status")
    printer_test.add_argument("name")
    printer_test.add_argument("--config", type=Path)
    jobs = sub.add_parser("jobs", help="tickets held for staff").add_subparsers(dest="action", required=True)
    jobs_list = jobs.add_parser("list", help="held tickets and why")
    jobs_list.add_argument("--config", type=Path)
    for action, text in (("release", "print a held ticket as it is"),
                         ("reprint", "print it again, marked REPRINT"), ("drop", "it printed: forget it")):
        act = jobs.add_parser(action, help=text)
        act.add_argument("job_id")
        act.add_argument("--config", type=Path)
    pos = sub.add_parser("pos", help="POS tools").add_subparsers(dest="action", required=True)
    pos_check = pos.add_parser("check", help="ask the configured POS whether it answers")
    pos_check.add_argument("--config", type=Path)
    emulator = printer.add_parser("emulator", help="a network ESC/POS printer that saves tickets as text")
    emulator.add_argument("--port", type=_port, default=9100)
    emulator.add_argument("--out-dir", type=Path, default=Path("tickets"))
    return parser


async def _serve_until_signal(start, stop) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    await start()
    collector.settle()  # after start-up, so what it made is frozen
    try:
        await done.wait()
    finally:
        await stop()


def _run_service(name: str, args) -> int:
    """`tableside agent run` / `tableside hub run`: load the config, serve until a signal."""
    from tableside import serve
    from tableside.serve import Server

    if name == "agent":
        from agent.app import create_app
    else:
        from hub.app import create_app
    config = loaded(name, args.config, name)
    if config is None:
        return 2
    logs.setup(logging.INFO, config.agent.log_format if name == "agent" else config.log_format)
    host, port = (config.http.host, config.http.port) if name == "agent" else (config.http_host, config.http_port)
    # a worker of `hub run --workers N` shares the port with its siblings (tableside/workers.py)
    reuse_port = name == "hub" and os.environ.get("TABLESIDE_HUB_REUSE_PORT") == "1"
    server = Server(create_app(config), host, port, reuse_port=reuse_port)
    try:
        serve.run(_serve_until_signal(server.start, server.stop))
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        # HTTP or metrics: say which address, and exit with a code that says "do not restart me"
        print(f"tableside {name}: cannot listen: {exc}", file=sys.stderr)
        return exits.CANNOT_LISTEN
    return 0


def _installer(args) -> int:
    """printer list / printer test / pos check: human answers, exit 1 with the driver's advice."""
    from agent.config import ConfigError, load_config
    from agent.devices import installer

    try:
        config = load_config(args.config, os.environ)
        if args.command == "pos":
            print(f"POS: {asyncio.run(installer.check_pos(config))}")
        elif args.action == "test":
            before, after = asyncio.run(installer.test_print(config, args.name))
            print(f"printed a test page on {args.name} (status before: {before}; after: {after})")
        else:
            for found in asyncio.run(installer.list_printers(config, args.host)):
                print(f"{found.where:<10} {found.name:<28} {found.detail}")
    except (ConfigError, LookupError, TypeError) as exc:
        print(f"tableside: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the driver's message says what is wrong and what to do
        print(f"tableside: {exc}", file=sys.stderr)
        return 1
    return 0


def _jobs(args) -> int:
    """Works on the agent's database beside the running agent (SQLite serialises the writers)."""
    from agent.devices import held_jobs
    from agent.store.database import Database

    config = loaded("agent", args.config, "jobs")
    if config is None:
        return 2
    database = Database(config.data_dir / "agent.sqlite")
    database.start()
    try:
        if args.action == "list":
            for job in database.write_sync(held_jobs.list_held):
                print(f"{job['id']}  {job['device']:<10} {job['table']} #{job['number']}  {job['reason']}")
        else:
            result = database.write_sync(getattr(held_jobs, args.action), args.job_id)
            print(f"{args.action}: {args.job_id}" + (f" -> new job {result}" if result else ""))
    except held_jobs.JobError as exc:
        print(f"tableside jobs: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    return 0


def _backup(args) -> int:
    from agent.backup.cli import run_backup

    config = loaded("agent", args.config, "agent backup")
    return 2 if config is None else run_backup(args, config)


def _add_staff(args) -> int:
    """`tableside agent add-staff`: writes beside a running agent too (SQLite serialises the writers)."""
    import getpass

    from agent.staff.accounts import AccountError, create_account
    from agent.staff.secrets import SecretError
    from agent.store.database import Database
    from agent.store.migrations import migrate

    config = loaded("agent", args.config, "agent add-staff")
    if config is None:
        return 2
    secret = args.secret
    if secret is None:
        secret = getpass.getpass("PIN (4-8 digits) or password: ")
        if getpass.getpass("Again: ") != secret:
            print("tableside agent add-staff: the two entries differ; nothing was created", file=sys.stderr)
            return 2
    database = Database(config.data_dir / "agent.sqlite")
    database.start()
    try:
        migrate(database)
        account = database.write_sync(create_account, args.name, args.role, secret)
    except (AccountError, SecretError) as exc:
        print(f"tableside agent add-staff: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    print(f"created {account.role} {account.name!r}: sign in at {config.public_url}/staff")
    return 0


def _run_emulator(args) -> int:
    from drivers.escpos.emulator import PrinterEmulator

    emulator = PrinterEmulator(out_dir=args.out_dir)

    async def start() -> None:
        await emulator.start("127.0.0.1", args.port)
        print(f"ESC/POS printer emulator on 127.0.0.1:{emulator.port}, tickets in {args.out_dir}", flush=True)

    asyncio.run(_serve_until_signal(start, emulator.stop))
    return 0


def _hub_check(args) -> int:
    from hub.check import check, report

    config = loaded("hub", args.config, "hub check")
    if config is None:
        return 2
    findings = asyncio.run(check(config))
    print(report(findings))
    return 0 if all(f.ok for f in findings) else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` prints every thread's stack: for a hung process
    # the demo's terminal is for people: warnings only, the banner says the rest
    serving = args.command in ("agent", "hub") or getattr(args, "action", None) == "emulator"
    try:
        logs.setup(logging.INFO if serving else logging.WARNING)
    except ValueError as exc:
        print(f"tableside: {exc}", file=sys.stderr)
        return 2
    if args.command == "demo":
        from tableside.demo import DemoOptions
        from tableside.demo import main as demo_main

        return demo_main(DemoOptions(args.data_dir, args.agent_port, args.hub_port, args.broker_port))
    if args.command == "agent" and args.action == "setup":
        from tableside.setup import run as run_setup

        return run_setup(args)
    if args.command == "agent" and args.action == "add-staff":
        return _add_staff(args)
    if args.command == "agent" and args.action == "backup":
        return _backup(args)
    if args.command == "hub" and args.action in ("restaurant", "report", "reconcile"):
        from hub.payments.cli import run as run_hub_payments

        return run_hub_payments(args)
    if args.command == "hub" and args.action in ("enroll", "codes", "revoke", "broker-cert"):
        from hub.enrollment.cli import run as run_hub_enrollment

        return run_hub_enrollment(args)
    if args.command == "hub" and args.action == "check":
        return _hub_check(args)
    if args.command == "hub" and args.workers > 1:
        from tableside.workers import supervise

        return supervise(args.config, args.workers)
    if args.command in ("agent", "hub"):
        return _run_service(args.command, args)
    if args.command == "jobs":
        return _jobs(args)
    if args.command == "pos" or args.action in ("list", "test"):
        return _installer(args)
    return _run_emulator(args)


if __name__ == "__main__":
    sys.exit(main())
