"""Command line: `flowengine run [FILE]`, `flowengine validate FILE`, `flowengine user|token ...`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import cli_users

log = logging.getLogger("flowengine")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowengine", description="A Node-RED-compatible flow engine for edge devices")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run flows in the foreground (Ctrl-C / SIGTERM stops cleanly)")
    run.add_argument("file", nargs="?", type=Path, help="flows.json to run (wins over the data dir's flows)")
    run.add_argument("--data-dir", type=Path, help="where flows, context and state live (default ~/.flowengine)")
    run.add_argument("--host", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port to bind (default 1880; 0 picks a free port)")
    run.add_argument("--safe", action="store_true", default=None, help="start without running flows")
    run.add_argument("--config", type=Path, help="TOML settings file")
    val = sub.add_parser("validate", help="check a flows.json file; exit 1 if it has errors")
    val.add_argument("file", type=Path)
    val.add_argument("--strict", action="store_true", help="warnings fail too")
    val.add_argument("--json", action="store_true", help="print issues as JSON")
    cli_users.add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return validate_command(args.file, strict=args.strict, as_json=args.json)
    if args.command in ("user", "token"):
        return cli_users.run(args)
    return run_command(args)


def validate_command(path: Path, strict: bool = False, as_json: bool = False) -> int:
    from .flowdoc import errors_only, parse_text
    from .registry import default_registry
    from .runtime.engine import Engine

    try:
        text = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    data, issues = parse_text(text)
    registry = default_registry()
    for pack in registry.packs.values():
        if pack.error:
            print(f"warning: node pack {pack.name} failed to load: {pack.error}", file=sys.stderr)
    if data is not None:
        _, issues = Engine(registry).validate(data)
    errors = errors_only(issues)
    if as_json:
        print(json.dumps([i.as_dict() for i in issues], indent=2))
    else:
        for issue in issues:
            print(str(issue))
        n_nodes = len(data) if isinstance(data, list) else 0
        print(f"{path}: {n_nodes} objects, {len(errors)} errors, {len(issues) - len(errors)} warnings")
    if errors or (strict and issues):
        return 1
    return 0


def run_command(args: argparse.Namespace) -> int:
    from .settings import load_settings

    try:
        settings = load_settings(args.config, data_dir=args.data_dir, host=args.host, port=args.port,
                                 safe=args.safe)
    except (ValidationError, OSError, ValueError) as exc:
        print(f"error: bad settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .app import Application

    app = Application(settings)
    try:
        return run_loop(_run(app, args.file), settings.event_loop)
    except KeyboardInterrupt:
        return 0


def run_loop(main: Any, choice: str) -> Any:
    """Run `main` on uvloop (libuv: less CPU per wake-up) when available, else asyncio's loop."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            return uvloop.run(main)
    return asyncio.run(main)


async def _run(app: Any, flows_file: Path | None) -> int:
    from .app import StartupError

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            ok = await app.start(flows_file)
        except StartupError as exc:
            log.error("%s", exc)
            return 2
        if not ok:
            return 1
        await stop.wait()
        log.info("stopping")
    finally:
        await app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
