"""`tableside agent setup`: the installer's one command to pair a box (agent/link/pairing.py)."""

import os
import sys

from cryptography import x509


def _ask(value: str | None, prompt: str) -> str | None:
    if value:
        return value
    if not sys.stdin.isatty():
        return None
    return input(prompt).strip() or None


def run(args) -> int:
    from agent.config import ConfigError, load_config
    from agent.link.pairing import PairingError, pair

    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"tableside agent setup: configuration error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "replace", False) or getattr(args, "from_file", None) or getattr(args, "keep_data", False):
        from agent.backup.cli import run_replace

        return run_replace(args, config)  # a replacement box: pair and restore (agent/backup/replace.py)
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
        return 1
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
