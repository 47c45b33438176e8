"""`tableside agent setup`: the installer's one command that finishes a box's install.

Pair with the hub (agent/link/pairing.py), find the printers, print a test page on each configured
one, enable and start the service, then show the first table's QR code and the staff dashboard's
address. The Debian package does not start an unpaired agent; this command does, once paired.
Each step after pairing reports and goes on, so one unplugged printer does not hide the rest;
the exit status is 1 when any step failed. `--skip-*` leave steps out (a box without systemd,
tests, a second run after fixing a printer); `--pair-only` stops after pairing.
"""

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography import x509

SERVICE = "tableside-agent.service"
SERVICE_USER = "tableside"  # the package's system user (packaging/nfpm/scripts/agent-postinst)
HEALTHY_WITHIN_S = 30.0


def _ask(value: str | None, prompt: str) -> str | None:
    if value:
        return value
    if not sys.stdin.isatty():
        return None
    return input(prompt).strip() or None


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _hand_to_service_user(data_dir: Path) -> None:
    """Run as root (sudo), pairing writes root-owned files; the service runs as `tableside` and must
    read them. Only where the data folder already belongs to that user (the package's layout)."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return
    if not data_dir.exists() or data_dir.stat().st_uid != user.pw_uid:
        return
    for folder, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if path.lstat().st_uid == 0:
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _pair(args, config) -> int:
    from agent.link.pairing import PairingError, pair

    hub = _ask(args.hub, "Hub URL (https://...): ")
    code = _ask(args.code, "Enrollment code from the operator (e.g. K7QF-2MXD): ")
    if not hub or not code:
        print("tableside agent setup: give --hub URL and --code CODE (or run it in a terminal to be asked)",
              file=sys.stderr)
        return 2
    try:
        paired = pair(config.data_dir, hub, code, re_pair=args.re_pair, hub_cafile=args.hub_ca)
    except PairingError as exc:
        print(f"tableside agent setup: {exc}", file=sys.stderr)
        if "already paired" in str(exc):
            print("  (to finish the other steps on a paired box: tableside agent setup --skip-pairing)",
                  file=sys.stderr)
        return 1
    _hand_to_service_user(config.data_dir)
    expires = x509.load_pem_x509_certificate(paired.certfile.read_bytes()).not_valid_after_utc
    link = f"{paired.broker_host}:{paired.broker_port} " + (
        "over TLS with this box's certificate" if paired.broker_tls else "without TLS (a demo broker)")
    print(f"Paired with {paired.hub_url}\n"
          f"  restaurant  {paired.restaurant_name} ({paired.restaurant_id})\n"
          f"  agent id    {paired.agent_id} (chosen by the hub)\n"
          f"  broker      {link}\n"
          f"  certificate valid until {expires:%Y-%m-%d} (renewed by the agent on its own)\n"
          f"  written to  {paired.link_dir} (the TLS key never leaves this box)\n"
          "The agent uses this pairing from its next start.")
    from agent.backup.cli import recovery_code_notice

    print(recovery_code_notice(config.data_dir))
    return 0


def _printers(config) -> bool:
    """List what is there, then a test page on each configured printer; False if one failed."""
    from agent.devices import installer

    for found in asyncio.run(installer.list_printers(config, [])):
        print(f"  {found.where:<10} {found.name:<28} {found.detail}")
    ok = True
    for printer in config.printers:
        try:
            _, after = asyncio.run(installer.test_print(config, printer.name))
            print(f"  test page printed on {printer.name} (status now: {after})")
        except Exception as exc:  # the driver's message says what is wrong and what to do
            print(f"  test page on {printer.name} FAILED: {exc}", file=sys.stderr)
            ok = False
    if not config.printers:
        print("  no printers configured yet: add [[printers]] to the configuration and run setup again")
    return ok


def _start_service() -> bool:
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        print("  systemd is not running here: start the agent yourself with `tableside agent run`", file=sys.stderr)
        return False
    done = subprocess.run(["systemctl", "enable", "--now", SERVICE], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  could not start {SERVICE}: {done.stderr.strip()}", file=sys.stderr)
        return False
    print(f"  {SERVICE} enabled (starts at boot) and started")
    return True


def _local_url(config) -> str:
    host = config.http.host if config.http.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{config.http.port}"


def _wait_until_healthy(config, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{_local_url(config)}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def _show_first_table(config) -> bool:
    import qrcode

    from agent.store.database import connect
    from agent.visits.tables import all_tables

    database = config.data_dir / "agent.sqlite"
    if not _wait_until_healthy(config, HEALTHY_WITHIN_S):
        print(f"  the agent did not answer at {_local_url(config)}/healthz within {HEALTHY_WITHIN_S:.0f} s; "
              f"see `journalctl -u {SERVICE}`", file=sys.stderr)
        return False
    try:
        db = connect(database, readonly=True)
        try:
            tables = all_tables(db)
        finally:
            db.close()
    except Exception as exc:  # typically: not root, and the data folder is the service's alone (0700)
        print(f"  cannot read the tables from {database} ({exc}); run setup with sudo", file=sys.stderr)
        return False
    if not tables:
        print("  no tables yet: add [[tables]] to the configuration or create them on the dashboard")
    else:
        url = f"{config.public_url}/t/{tables[0].token}"
        qr = qrcode.QRCode(border=1)
        qr.add_data(url)
        print(f"  {tables[0].name}: {url}")
        qr.print_ascii(out=sys.stdout, invert=True)
        print("  (print every table's card from the dashboard: Tables, QR cards)")
    print(f"  staff dashboard: {config.public_url}/staff")
    return True


def run(args) -> int:
    from tableside.configs import loaded

    config = loaded("agent", args.config, "agent setup")
    if config is None:
        return 2
    if getattr(args, "replace", False) or getattr(args, "from_file", None) or getattr(args, "keep_data", False):
        from agent.backup.cli import run_replace

        # a replacement box: pair and restore (agent/backup/replace.py); the other steps follow with
        # a second `tableside agent setup --skip-pairing`
        status = run_replace(args, config)
        _hand_to_service_user(config.data_dir)
        return status
    if not args.skip_pairing:
        _step("1. pairing with the hub")
        status = _pair(args, config)
        if status:
            return status  # nothing else makes sense on an unpaired box
        if args.pair_only:
            return 0
        config = loaded("agent", args.config, "agent setup")  # the pairing names the agent and its broker
        if config is None:
            return 2
    ok = True
    if not args.skip_printers:
        _step("2. printers")
        ok = _printers(config) and ok
    if not args.skip_service:
        _step("3. the service")
        ok = _start_service() and ok
    _step("4. the first table and the staff dashboard")
    ok = _show_first_table(config) and ok
    print("\nSet-up finished." if ok else "\nSet-up finished with problems (above); run it again once fixed.")
    return 0 if ok else 1
