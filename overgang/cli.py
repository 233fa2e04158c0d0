"""The `overgang` command: up, worker, api, migrate, demo, token, audit, backup, restore,
rebuild-read-model."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from foundation.observability import configure_process
from foundation.settings import Settings, load_settings


def _cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.stack import up

    asyncio.run(up(settings))


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.stack import existing_services
    from store.migrate import upgrade

    database_url, _ = asyncio.run(existing_services(settings))
    upgrade(database_url)
    print("Migrations applied.")


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.demo import load_demo
    from overgang.stack import existing_services
    from store.database import Database
    from store.migrate import upgrade

    async def run() -> int:
        database_url, _ = await existing_services(settings)
        await asyncio.to_thread(upgrade, database_url)
        db = Database(database_url)
        try:
            return await load_demo(db)
        finally:
            await db.dispose()

    count = asyncio.run(run())
    print(
        f"Demo directory loaded ({count} rows): Halden, Marker, Bærum, Lørenskog, Bydel Gamle Oslo."
    )
    print("Try: overgang token dps-halden-kontakt   (a discharge coordinator)")
    print("     overgang token halden-prt-kontakt   (a municipal contact in Halden)")


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from foundation.temporal_client import connect
    from overgang.stack import existing_services
    from store.database import Database
    from worker import build_worker

    async def run() -> None:
        database_url, address = await existing_services(settings)
        db = Database(database_url)
        worker = build_worker(await connect(settings, address), db, settings)
        print(
            f"Worker polling task queue {settings.temporal_task_queue!r} on {address}", flush=True
        )
        try:
            await worker.run()
        finally:
            await db.dispose()

    asyncio.run(run())


def _cmd_api(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.app import create_app
    from overgang.stack import existing_services

    database_url, address = asyncio.run(existing_services(settings))
    app = create_app(settings, database_url=database_url, temporal_address=address)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port)


def _cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    from api.auth.tokens import DevelopmentIssuer
    from overgang.stack import existing_services
    from store import directory
    from store.database import Database

    if settings.oidc_issuer:
        sys.exit("overgang token: an OIDC issuer is configured; get tokens from it instead.")

    async def find_person() -> tuple[str, str | None] | None:
        database_url, _ = await existing_services(settings)
        db = Database(database_url)
        try:
            async with db.transaction() as session:
                person = await directory.get_person(session, args.user_id)
                return None if person is None else (person.id, person.hpr_number)
        finally:
            await db.dispose()

    found = asyncio.run(find_person())
    if found is None:
        sys.exit(
            f"overgang token: no user {args.user_id!r} in the directory (try `overgang demo`)."
        )
    print(DevelopmentIssuer(settings).mint(found[0], hpr_number=found[1]))


def _cmd_simulate(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.simulation.population import SimulationConfig
    from overgang.simulation.run import simulate
    from overgang.simulation.server_probe import probe_command

    if args.probe:
        sys.exit(asyncio.run(probe_command()))
    config = SimulationConfig(
        transitions=args.transitions, days=args.days, seed=args.seed, drain_days=args.drain_days
    )
    sys.exit(asyncio.run(simulate(config)))


def _cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.backup import BackupError, backup

    try:
        path = asyncio.run(backup(settings, args.path))
    except BackupError as error:
        sys.exit(f"overgang backup: {error}")
    print(f"Backup written to {path}")
    print("It holds no keys: keep OVERGANG_CODEC_KEYS too, or its workflows cannot be read.")


def _cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.backup import BackupError, restore

    try:
        summary = asyncio.run(restore(settings, args.path))
    except BackupError as error:
        sys.exit(f"overgang restore: {error}")
    print(f"Restored the backup taken {summary}.")
    print("Start it with `overgang up`.")


def _cmd_audit(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.audit_verify import verify_command

    sys.exit(verify_command(settings))


def _cmd_rebuild_read_model(settings: Settings, args: argparse.Namespace) -> None:
    from overgang.rebuild import rebuild_command

    sys.exit(rebuild_command(settings))


COMMANDS: dict[str, tuple[str, Callable[[Settings, argparse.Namespace], None]]] = {
    "up": ("start the whole system (embedded PostgreSQL and Temporal unless configured)", _cmd_up),
    "worker": ("run only the Temporal worker", _cmd_worker),
    "api": ("run only the HTTP API", _cmd_api),
    "migrate": ("apply database migrations", _cmd_migrate),
    "demo": ("load the demo directory (municipalities, units, people, policies)", _cmd_demo),
    "token": ("print a development token for a directory user", _cmd_token),
    "audit": ("`audit verify`: check the audit log's hash chain", _cmd_audit),
    "rebuild-read-model": (
        "rebuild the inbox, timeline and dashboards from Temporal's workflow histories",
        _cmd_rebuild_read_model,
    ),
    "simulate": (
        "run a simulated year of transitions in virtual time, checking invariants",
        _cmd_simulate,
    ),
    "backup": ("back up the embedded PostgreSQL and Temporal (a .tar.gz)", _cmd_backup),
    "restore": ("restore a backup (with `overgang up` stopped)", _cmd_restore),
}


def _simulate_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--transitions", type=int, default=15_600, help="discharges (a year: 15600)")
    sub.add_argument("--days", type=int, default=365, help="days over which they start")
    sub.add_argument("--seed", type=int, default=2026, help="the same seed, the same population")
    sub.add_argument("--drain-days", type=int, default=35, help="days to let the last settle")
    sub.add_argument(
        "--probe",
        action="store_true",
        help="instead: measure how the time-skipping test server slows with work done (~2 min)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="overgang", description=__doc__)
    subcommands = root.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        sub = subcommands.add_parser(name, help=help_text)
        if name == "token":
            sub.add_argument("user_id", help="a person id from the directory")
        if name == "audit":
            sub.add_argument("action", choices=["verify"], help="verify: walk the hash chain")
        if name == "simulate":
            _simulate_arguments(sub)
        if name == "backup":
            sub.add_argument(
                "path", nargs="?", type=Path, help="default: ./overgang-backup-*.tar.gz"
            )
        if name == "restore":
            sub.add_argument("path", type=Path, help="a file `overgang backup` wrote")
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    configure_process(settings, args.command)
    COMMANDS[args.command][1](settings, args)
