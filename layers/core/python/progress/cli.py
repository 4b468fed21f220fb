"""`progress-admin`: tenants, credentials and storage migrations, for the configured backend.

    progress-admin tenant create acme --name "ACME Corp"
    progress-admin credential create acme --scopes "statements/write statements/read/mine"
    progress-admin credential list acme
    progress-admin migrate [--to N]          # SQLite schema (DATA_DIR)
    progress-admin backfill [--to N]         # DynamoDB item format (TABLE_NAME)
    progress-admin rules get acme | rules set acme rules.json   # progress rules (JSON)
    progress-admin replay acme               # rebuild attempts + completions from Statements
    progress-admin sweep                     # close attempts past their inactivity timeout
    progress-admin dlq list [--consumer projection]
    progress-admin dlq redrive [--consumer C] [--id ID ...]     # publish again, then remove
    progress-admin export create acme --kind statements --format ndjson \
        [--agent '{"mbox":"mailto:ann@example.com"}'] [--wait]   # then prints the download URL
    progress-admin export status acme ID | export list acme

Settings come from the same environment as the service (BACKEND, DATA_DIR, TABLE_NAME, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from progress.app.dispatch import Dispatcher, redrive
from progress.app.ports import ExportJob
from progress.app.progress import ReplayReport
from progress.domain.errors import DomainError
from progress.domain.exports import FORMATS, KINDS, TERMINAL
from progress.domain.progress_rules import ProgressRules
from progress.domain.statements import agent_key
from progress.domain.tenancy import parse_scopes
from progress.settings import Settings, SettingsError

if TYPE_CHECKING:
    from progress.bootstrap import Services


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="progress-admin", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    create = tenant.add_parser("create", help="create a tenant (no-op if it exists)")
    create.add_argument("tenant_id")
    create.add_argument("--name")

    cred = sub.add_parser("credential", help="manage Basic credentials").add_subparsers(
        dest="action", required=True
    )
    ccreate = cred.add_parser("create", help="create a credential; prints the secret once")
    ccreate.add_argument("tenant_id")
    ccreate.add_argument("--scopes", default="all", help='e.g. "statements/write state"')
    ccreate.add_argument("--label", default="api")
    ccreate.add_argument("--key", help="choose the key (default: random)")
    ccreate.add_argument("--secret", help="choose the secret (default: random)")
    ccreate.add_argument(
        "--agent",
        help="a learner's own credential: the learner as xAPI Agent JSON (with"
        " statements/read/mine it reads that learner's transcript)",
    )
    clist = cred.add_parser("list", help="list a tenant's credentials (never secrets)")
    clist.add_argument("tenant_id")

    migrate = sub.add_parser("migrate", help="move the SQLite schema up or down")
    migrate.add_argument("--to", type=int, default=None, help="target version (default latest)")

    backfill = sub.add_parser("backfill", help="rewrite DynamoDB items to an item-format version")
    backfill.add_argument("--to", type=int, default=None, help="target version (default latest)")

    rules = sub.add_parser("rules", help="a tenant's progress rules").add_subparsers(
        dest="action", required=True
    )
    rget = rules.add_parser("get", help="print the rules in force (defaults if none set)")
    rget.add_argument("tenant_id")
    rset = rules.add_parser("set", help="set the rules from a JSON file (- for stdin)")
    rset.add_argument("tenant_id")
    rset.add_argument("file")

    replay = sub.add_parser("replay", help="rebuild a tenant's progress from its Statements")
    replay.add_argument("tenant_id")

    sub.add_parser("sweep", help="close attempts past their inactivity timeout now")

    dlq = sub.add_parser("dlq", help="events consumers kept failing on").add_subparsers(
        dest="action", required=True
    )
    dlist = dlq.add_parser("list", help="list dead letters with their reasons")
    dlist.add_argument("--consumer")
    dlist.add_argument("--limit", type=int, default=100)
    dredrive = dlq.add_parser("redrive", help="publish dead letters again, then remove them")
    dredrive.add_argument("--consumer")
    dredrive.add_argument("--id", action="append", default=[], dest="ids")

    export = sub.add_parser("export", help="compliance exports (NDJSON / CSV)").add_subparsers(
        dest="action", required=True
    )
    ecreate = export.add_parser("create", help="request an export (runs asynchronously)")
    ecreate.add_argument("tenant_id")
    ecreate.add_argument("--kind", required=True, choices=KINDS)
    ecreate.add_argument("--format", default="ndjson", choices=FORMATS)
    ecreate.add_argument("--agent", help='one learner, an xAPI Agent: \'{"mbox":"mailto:..."}\'')
    ecreate.add_argument("--id", help="the export's id (idempotent: the same id, the same job)")
    ecreate.add_argument(
        "--wait", action="store_true", help="show progress until done; print the download URL"
    )
    estatus = export.add_parser("status", help="an export's status (and URL when done)")
    estatus.add_argument("tenant_id")
    estatus.add_argument("export_id")
    elist = export.add_parser("list", help="a tenant's exports, newest first")
    elist.add_argument("tenant_id")
    elist.add_argument("--limit", type=int, default=20)
    return parser


def run(argv: Sequence[str], settings: Settings) -> int:
    args = _parser().parse_args(argv)
    if args.command == "migrate":
        return _migrate(settings, args.to)
    if args.command == "backfill":
        return _backfill(settings, args.to)
    from progress.bootstrap import build

    svc = build(settings)
    try:
        return _run(args, svc)
    finally:
        svc.close()


def _run(args: argparse.Namespace, svc: Services) -> int:
    if args.command in ("rules", "replay", "sweep", "dlq"):
        return _progress(args, svc)
    if args.command == "export":
        return _export(args, svc)
    if args.command == "tenant":
        tenant = svc.tenants.create_tenant(args.tenant_id, args.name)
        print(f"tenant {tenant.id} ({tenant.name}) created {tenant.created}")
    elif args.action == "create":
        credential, secret = svc.tenants.create_credential(
            args.tenant_id,
            parse_scopes(args.scopes),
            label=args.label,
            key=args.key,
            secret=args.secret,
            learner=None if args.agent is None else _learner(args.agent),
        )
        print(f"tenant  {credential.tenant_id}")
        print(f"key     {credential.key}")
        print(f"secret  {secret}    (shown once; stored hashed)")
        print(f"scopes  {' '.join(sorted(credential.scopes))}")
        if credential.learner:
            print(f"learner {credential.learner}")
    else:
        for c in svc.tenant_store.list_credentials(args.tenant_id):
            print(
                f"{c.key}\t{c.label}\t{' '.join(sorted(c.scopes))}\t{c.created}"
                + (f"\t{c.learner}" if c.learner else "")
            )
    return 0


def _progress(args: argparse.Namespace, svc: Services) -> int:
    if args.command == "rules":
        if args.action == "get":
            print(json.dumps(svc.progress.rules.get(args.tenant_id).to_json(), indent=2))
            return 0
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        try:
            config = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{args.file}: not JSON ({exc})") from None
        if not isinstance(config, dict):
            raise ValueError(f"{args.file}: a JSON object of rules expected")
        svc.progress.rules.put(args.tenant_id, ProgressRules.from_json(config))
        print(f"rules of {args.tenant_id} set from {args.file}")
        return 0
    if args.command == "replay":

        def show(report: ReplayReport) -> None:
            print(
                f"\rstatements {report.statements}  applied {report.applied}"
                f"  skipped {report.skipped}  events {report.events}",
                end="",
                flush=True,
            )

        report = svc.progress.replay(args.tenant_id, progress=show)
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.skip_reasons.items()))
        print(
            f"\n{args.tenant_id}: progress rebuilt" + (f" (skipped: {reasons})" if reasons else "")
        )
        return 0
    if args.command == "sweep":
        print(f"{svc.progress.sweep()} attempt(s) closed")
        return 0
    if args.action == "list":
        letters = svc.dead_letters.list(args.consumer, args.limit)
        for d in letters:
            print(
                f"{d.id}\t{d.consumer}\t{d.envelope.get('type')}\t{d.envelope.get('id')}"
                f"\t{d.attempts} attempt(s)\t{d.reason}"
            )
        print(f"{len(letters)} dead letter(s)")
        return 0
    pump = None
    if isinstance(svc.bus, Dispatcher):  # local: the consumers run in this process
        from progress.bootstrap import install
        from progress.local.dispatcher import Pump, functions_dir_loader
        from progress.local.server import LambdaContext

        install(svc)  # the handlers' services() are this command's
        pump = Pump(svc, functions_dir_loader(), LambdaContext)
    done, failed = redrive(svc.dead_letters, svc.bus, consumer=args.consumer, ids=set(args.ids))
    if pump is not None:
        pump.drain()  # and deliver what the consumers committed in turn
    for letter, error in failed:
        print(f"{letter.id}: not redriven: {error}", file=sys.stderr)
    print(f"{len(done)} redriven, {len(failed)} failed")
    return 0 if not failed else 1


def _export(args: argparse.Namespace, svc: Services) -> int:
    exports = svc.exports
    if args.action == "list":
        jobs, _ = exports.list(args.tenant_id, None, args.limit)
        for job in jobs:
            print(
                f"{job.id}\t{job.kind}\t{job.format}\t{job.status}\t{job.rows} rows"
                f"\t{job.learner or '(tenant)'}"
            )
        print(f"{len(jobs)} export(s)")
        return 0
    if args.action == "status":
        return _show(svc, exports.get(args.tenant_id, args.export_id))
    learner = None if args.agent is None else _learner(args.agent)
    job = exports.request(args.tenant_id, args.kind, args.format, learner, export_id=args.id)
    print(
        f"export {job.id} {job.status}: {job.kind} of {learner or args.tenant_id} as {job.format}"
    )
    if not args.wait:
        if svc.outbox is not None and not svc.settings.event_bus_name:
            print("  runs when `make run` delivers events (or add --wait to run it here)")
        return 0
    return _show(svc, _wait(svc, job))


def _wait(svc: Services, job: ExportJob) -> ExportJob:
    """Poll the job with a progress bar until it is done or failed.

    Where events are delivered in-process (SQLite or memory, no EVENT_BUS_NAME) nobody may be
    running `make run`: this process then delivers the outbox itself, with the very pump the
    local server runs (rules, the exporter handler, retries, dead letters), in a thread beside
    the poll. A server that drains the same outbox meanwhile is harmless: the job's lease lets
    one worker run it and the other delivery does nothing. On DynamoDB the table's stream
    delivers (the relay, EventBridge, the exporter Lambda): the CLI only polls."""
    from tqdm import tqdm

    drainer: threading.Thread | None = None
    if svc.outbox is not None and not svc.settings.event_bus_name:
        from progress.bootstrap import install
        from progress.local.dispatcher import Pump, functions_dir_loader
        from progress.local.server import LambdaContext

        install(svc)  # the handlers' services() are this command's
        pump = Pump(svc, functions_dir_loader(), LambdaContext)
        drainer = threading.Thread(target=pump.drain, name="export-drain", daemon=True)
        drainer.start()
    with tqdm(total=job.total, unit=" rows", desc=f"export {job.id[:8]}") as bar:
        while True:
            job = svc.exports.get(job.tenant, job.id)
            if job.total is not None:
                bar.total = job.total
            bar.update(job.rows - bar.n)
            bar.set_postfix_str(job.status)
            if job.status in TERMINAL:
                break
            time.sleep(0.25)
    if drainer is not None:
        drainer.join()
    return job


def _show(svc: Services, job: ExportJob) -> int:
    print(f"id       {job.id}")
    print(f"status   {job.status}")
    print(f"kind     {job.kind} ({job.format}) of {job.learner or 'the whole tenant'}")
    print(f"rows     {job.rows}" + ("" if job.total is None else f" of {job.total}"))
    if job.error:
        print(f"error    {job.error}")
    if job.status != "done":
        return 1 if job.status == "failed" else 0
    url, expires = svc.exports.download_url(job)
    print(f"size     {job.size} bytes, sha256 {job.sha256}")
    if not svc.settings.export_bucket and job.blob_key is not None:
        print(f"file     {svc.settings.exports_dir / job.blob_key}")
    print(f"url      {url}")
    print(f"expires  {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expires))}")
    return 0


def _migrate(settings: Settings, target: int | None) -> int:
    if settings.backend != "sqlite":
        print("migrate: BACKEND must be sqlite (use backfill for dynamodb)", file=sys.stderr)
        return 2
    from progress.adapters.sqlite import LATEST, Database, migrate, schema_version

    db = Database(settings.sqlite_path, auto_migrate=False)
    before = schema_version(db.conn)
    after = migrate(db.conn, LATEST if target is None else target, progress=print)
    print(f"{settings.sqlite_path}: schema version {before} -> {after}")
    return 0


def _backfill(settings: Settings, target: int | None) -> int:
    if settings.backend != "dynamodb":
        print("backfill: BACKEND must be dynamodb (use migrate for sqlite)", file=sys.stderr)
        return 2
    import boto3

    from progress.adapters.dynamodb import migrations

    client = boto3.client("dynamodb")
    version = migrations.CURRENT_VERSION if target is None else target

    def show(stats: migrations.BackfillStats) -> None:
        print(
            f"\rscanned {stats.scanned}  migrated {stats.migrated}"
            f"  index items {stats.index_items}  conflicts {stats.conflicts}",
            end="",
            flush=True,
        )

    stats = migrations.backfill(
        client,
        settings.table_name,
        target_version=version,
        index_shards=settings.index_shards,
        progress=show,
    )
    print(f"\n{settings.table_name}: items at format version {version}; {stats.conflicts} left")
    return 0 if stats.conflicts == 0 else 1


def main(argv: Sequence[str] | None = None) -> None:
    try:
        settings = Settings.from_env()
        code = run(sys.argv[1:] if argv is None else argv, settings)
    except (DomainError, SettingsError) as exc:
        print(f"progress-admin: {getattr(exc, 'message', exc)}", file=sys.stderr)
        code = 2
    except ValueError as exc:
        print(f"progress-admin: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)


if __name__ == "__main__":
    main()


def _learner(agent_json: str) -> str:
    """The learner key of ``--agent``; ValueError naming the option when it is not an Agent."""
    try:
        agent = json.loads(agent_json)
    except json.JSONDecodeError:
        raise ValueError("--agent: not valid JSON") from None
    key = agent_key(agent) if isinstance(agent, dict) else None
    if key is None:
        raise ValueError("--agent: an xAPI Agent with one identifier is required")
    return key
