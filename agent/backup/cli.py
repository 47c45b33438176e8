"""The installer's commands: `tableside agent backup now|list|verify|code`, and the restoring half
of `tableside agent setup` (--replace, --recovery-code, --from-file), called from tableside/setup.py."""

import argparse
import sys
from pathlib import Path

from agent.backup import archive, recovery_code, sealed
from agent.backup.restore import DATABASE, RestoreRefused, open_backup


def add_backup_parser(agent_actions) -> None:
    backup = agent_actions.add_parser("backup", help="the box's backups (docs/recovery.md)").add_subparsers(
        dest="backup_action", required=True)
    for name, text in (("now", "take a backup now (beside a running agent too) and send it to the hub"),
                       ("list", "the local backups, newest first, and those the hub holds"),
                       ("verify", "open every local backup (or FILE) with the recovery code and check it"),
                       ("code", "print this box's recovery code (keep it printed, away from the box)")):
        action = backup.add_parser(name, help=text)
        action.add_argument("--config", type=Path, help="the agent's TOML file")
        if name == "verify":
            action.add_argument("file", nargs="?", type=Path, help="one backup file (default: every local one)")
            action.add_argument("--recovery-code", help="check with this code (the printed card) instead of the box's")


def add_replace_arguments(setup: argparse.ArgumentParser) -> None:
    setup.add_argument("--replace", action="store_true", help="this box replaces a dead one: restore its latest "
                       "backup from the hub (a replacement code from the operator)")
    setup.add_argument("--recovery-code", help="the restaurant's recovery code, printed at pairing (asked for "
                       "when left out)")
    setup.add_argument("--from-file", type=Path, help="restore this local backup file, or the newest good one of a "
                       "backup directory (without --code: no hub)")
    setup.add_argument("--agent", help="which of the restaurant's boxes to replace (when it has several)")
    setup.add_argument("--force", action="store_true", help="replace this box's own database (kept aside)")
    setup.add_argument("--keep-data", action="store_true", help="with --replace: a box restored --from-file while "
                       "offline pairs now and keeps what it served since (nothing restored again)")


def recovery_code_notice(data_dir: Path) -> str:
    """After pairing: the restaurant's recovery code, made now if the box has none, for the manager to keep."""
    code, _ = recovery_code.load_or_create(data_dir)
    return ("\nRECOVERY CODE (write it down or print it, keep it away from the box):\n\n"
            f"    {code}\n\n"
            "Backups of this box are encrypted with it; the platform cannot read them and cannot give it back.\n"
            "A replacement box needs it: tableside agent setup --replace --code CODE --recovery-code ...\n"
            "Show it again on this box with: tableside agent backup code")


def _fail(what: str, message: str, status: int = 1) -> int:
    print(f"tableside agent {what}: {message}", file=sys.stderr)
    return status


def run_backup(args, config) -> int:
    from agent.backup.service import backup_dir, make_backup, upload_file
    from agent.paired import read_pairing

    code = recovery_code.load(config.data_dir)
    if args.backup_action == "code":
        if code is None:
            return _fail("backup code", f"no recovery code in {config.data_dir}: the agent makes one at its first "
                         "start, pairing prints it")
        print(f"Recovery code: {code}\nKeep it printed, away from the box: without it no backup can be restored.")
        return 0
    directory = backup_dir(config)
    if args.backup_action == "now":
        if not (config.data_dir / DATABASE).exists():
            return _fail("backup now", f"no database at {config.data_dir / DATABASE}", 2)
        code, _ = recovery_code.load_or_create(config.data_dir)
        made = make_backup(config, config.data_dir / DATABASE, recovery_code.derive(code))
        print(f"backup {made.path} ({made.size} bytes)")
        pairing = read_pairing(config.data_dir)
        if pairing is not None:
            try:
                upload_file(pairing, made.path)
                print(f"sent to {pairing.hub_url}")
            except Exception as exc:  # the local backup stands; the running agent uploads it later
                return _fail("backup now", f"kept locally, not sent to the hub: {exc}")
        return 0
    if args.backup_action == "list":
        for backup in archive.listing(directory):
            head = _header(backup.path)
            print(f"local  {backup.name}  {backup.size:>10} bytes  seq {head.get('outbox_seq', '?')}")
        pairing = read_pairing(config.data_dir)
        if pairing is not None:
            from agent.backup import hub_client
            from agent.backup.service import credentials_of

            try:
                for held in hub_client.list_remote(pairing.hub_url, credentials_of(pairing), pairing.agent_id):
                    print(f"hub    {held['name']}  {held['size']:>10} bytes  seq {held.get('outbox_seq', '?')}")
            except Exception as exc:
                return _fail("backup list", f"the hub's list is not available: {exc}")
        return 0
    return _verify(args, directory, code)


def _header(path: Path) -> dict:
    try:
        return sealed.header_of(path.read_bytes())
    except sealed.BackupUnreadable:
        return {}


def _verify(args, directory: Path, code: str | None) -> int:
    if args.recovery_code:
        try:
            code = recovery_code.normalize(args.recovery_code)
        except recovery_code.RecoveryCodeError as exc:
            return _fail("backup verify", str(exc), 2)
    if code is None:
        return _fail("backup verify", "no recovery code on this box: give --recovery-code", 2)
    files = [args.file] if args.file else [b.path for b in archive.listing(directory)]
    if not files:
        return _fail("backup verify", f"no backups in {directory}")
    bad = 0
    for path in files:
        try:
            opened = open_backup(path.read_bytes(), code)
            print(f"OK      {path.name}  made {opened.header.get('created_at')}, {len(opened.order_ids)} orders, "
                  f"outbox seq {opened.outbox_seq}")
        except (RestoreRefused, OSError) as exc:
            bad += 1
            print(f"FAILED  {path.name}  {exc}")
    return 1 if bad else 0


def _ask(value: str | None, prompt: str) -> str | None:
    if value:
        return value
    if not sys.stdin.isatty():
        return None
    return input(prompt).strip() or None


def run_replace(args, config) -> int:
    """`setup --replace` (from the hub), `setup --from-file` (with --code: paired too; without: offline), or
    `setup --replace --keep-data` (pair a box restored offline, keeping what it served since)."""
    from agent.backup import replace
    from agent.paired import PairingError

    recovery = _ask(args.recovery_code, "Recovery code (printed at pairing, XXXXX-XXXXX-...): ")
    if not recovery:
        return _fail("setup", "give --recovery-code (or run it in a terminal to be asked)", 2)
    blob = None
    candidates: list[tuple[str, bytes]] = []
    if args.from_file is not None:
        try:
            if args.from_file.is_dir():  # a backup directory (the USB stick): newest first
                candidates = [(b.name, b.path.read_bytes()) for b in archive.listing(args.from_file)]
            else:
                blob = args.from_file.read_bytes()
                candidates = [(args.from_file.name, blob)]
        except OSError as exc:
            return _fail("setup", f"cannot read {args.from_file}: {exc.strerror}", 2)
    try:
        if args.keep_data:
            hub = _ask(args.hub, "Hub URL (https://...): ")
            code = _ask(args.code, "Replacement code from the operator (e.g. K7QF-2MXD): ")
            if not hub or not code:
                return _fail("setup", "--keep-data needs --hub URL and --code CODE", 2)
            done = replace.pair_restored(config.data_dir, hub, code, recovery, hub_cafile=args.hub_ca)
        elif args.code is None and args.from_file is not None:
            done = replace.restore_offline(config.data_dir, candidates, recovery, force=args.force,
                                           config_path=args.config)
        else:
            hub = _ask(args.hub, "Hub URL (https://...): ")
            code = _ask(args.code, "Replacement code from the operator (e.g. K7QF-2MXD): ")
            if not hub or not code:
                return _fail("setup", "give --hub URL and --code CODE, or --from-file FILE without a hub", 2)
            name = args.from_file.name if args.from_file else ""
            if blob is None and candidates:  # a directory given with a hub: its newest good backup
                name, blob = next(((n, b) for n, b in candidates if _opens(b, recovery)), candidates[0])
            done = replace.replace(config.data_dir, hub, code, recovery, agent_id=args.agent, blob=blob,
                                   blob_name=name, hub_cafile=args.hub_ca, config_path=args.config, force=args.force)
    except (RestoreRefused, recovery_code.RecoveryCodeError, PairingError) as exc:
        return _fail("setup", str(exc))
    except Exception as exc:  # the hub or the network: nothing was written on this box
        return _fail("setup", f"{exc}. Nothing was changed on this box")
    print(report(done))
    return 0


def _opens(blob: bytes, recovery: str) -> bool:
    try:
        open_backup(blob, recovery)
    except (RestoreRefused, recovery_code.RecoveryCodeError):
        return False
    return True


def report(done) -> str:
    lines = [f"Restored {done.backup or 'the backup'} (made {done.backup_created_at}) in {done.seconds:.1f}s"]
    if done.pairing is not None:
        lines.append(f"  agent id    {done.pairing.agent_id} of {done.pairing.restaurant_name}: "
                     "the dead box's certificates are revoked")
    else:
        lines.append("  no hub: the box serves diners again; pair it with `tableside agent setup --replace` once online")
    for name, why in done.skipped:
        lines.append(f"  skipped     {name}: {why}")
    gap = done.gap
    if gap:
        lines.append(f"  the hub sends again {gap.get('requeued', 0)} message(s) it had sent the dead box since then")
        lines.append(f"  the hub last heard from the dead box at {gap.get('last_seen_at') or 'never'}: what it "
                     "took after that and never sent is lost (check the kitchen's printed tickets)")
    if done.missing_orders:
        lines.append(f"  {len(done.missing_orders)} order(s) reached the hub after this backup and are not on "
                     "this box (the kitchen has them; re-enter what is still open):")
        for order in done.missing_orders:
            lines.append(f"    #{order['number']} {order['table_name']}  {order['total_minor']} {order['currency']} "
                         f"(minor units)  placed {order['placed_at']}")
    elif gap:
        lines.append("  no order reached the hub after this backup: nothing is known to be missing")
    lines.append("Start the agent: tables keep their QR codes, pay links already given out still work.")
    return "\n".join(lines)
