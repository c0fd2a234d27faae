"""A backlog of e-invoices draining through the shared ANAF rate limiter (PostgreSQL, redis, Celery, the simulator).

Issues and queues N invoices while no worker runs, so their tasks wait in the broker; then starts W Celery worker
processes (a prefork pool of C each) and beat, all with EINVOICE_RATE_LIMIT_PER_MINUTE=R, against the ANAF simulator
over HTTP on loopback (a thread of this process, which notes when every call arrives). It measures the calls ANAF
received per second in the limiter's own one-second windows, the most in any sliding second and sliding minute, the
mean rate and the drain time, then checks that every document ended `validated` through exactly one accepted upload
and that no limiter window got more than R/60 calls (exit status 1 otherwise). A redis-server of its own is started
on a free port; every process is stopped at the end and the logs are kept (their folder is printed). Run (migrates
the database it is given; it must have no submission on its way from an earlier, interrupted run):

    createdb -h 127.0.0.1 -U postgres stornare_bench_drain
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stornare_bench_drain \\
    EINVOICE_VALIDATION_DIR=/work/shared/validation \\
        .venv/bin/python bench/einvoice_drain.py --documents 300 --rate 600 --workers 2 --concurrency 2
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from tests.einvoice.worker_harness import free_port  # noqa: E402  (no Django needed)

# This process queues the backlog into the broker the workers read: REDIS_URL before the settings are read.
REDIS_PORT = free_port()
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.parties import bench_client, bench_company  # noqa: E402
from einvoice.models import ACTIVE_STATES, EInvoiceEvent, EInvoiceSubmission, EventKind  # noqa: E402
from einvoice.services import submission_queue  # noqa: E402
from invoices.services import invoice_create  # noqa: E402
from tests.einvoice.worker_harness import RedisServer, Stack, WorkerGroup, database_url, wait_for  # noqa: E402

FINAL = ("validated", "rejected", "error")
TASK_RUN = re.compile(r"Task einvoice\.sync_submission\[[^]]+\] succeeded")


def sliding_max(times: list[float], width: float) -> int:
    """The most calls in any window [t, t + width)."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - width:
            start += 1
        most = max(most, end - start + 1)
    return most


def backlog(documents: int) -> list[int]:
    """N issued invoices of a new company, each queued (its task published to the broker): the submission ids."""
    company = bench_company(f"Drain {time.strftime('%H%M%S')} SRL")
    client = bench_client(company)
    line = {"description": "Servicii", "quantity": Decimal(1), "unit_price": Decimal("100.00"), "vat_rate": Decimal(21)}
    submissions = []
    for _ in range(documents):
        invoice = invoice_create(company=company, client_id=client.uuid, lines=[line], issue=True)
        submissions.append(submission_queue(document=invoice)[0].pk)
    return submissions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--rate", type=int, default=600, help="EINVOICE_RATE_LIMIT_PER_MINUTE")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork pool processes per worker")
    parser.add_argument("--processing", type=float, default=0.3, help="the simulator's seconds 'in prelucrare'")
    parser.add_argument("--sweep", type=float, default=15.0, help="EINVOICE_SWEEP_SECONDS (production: 15)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before giving up on the drain")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    if EInvoiceSubmission.objects.filter(state__in=ACTIVE_STATES).exists():
        sys.exit("This database has submissions on their way from an earlier run: use a fresh one.")

    folder = Path(tempfile.mkdtemp(prefix="einvoice-drain-"))
    stack = Stack(
        folder,
        database=database_url(connection.settings_dict),
        validation_dir=settings.EINVOICE_VALIDATION_DIR,
        processing_seconds=args.processing,
    )
    stack.redis = RedisServer(folder, port=REDIS_PORT)
    group = WorkerGroup(
        workers=args.workers,
        concurrency=args.concurrency,
        settings=(
            ("EINVOICE_RATE_LIMIT_PER_MINUTE", str(args.rate)),
            # Production's shape, minutes made seconds: a lease far above any step and its rate-limit waits.
            ("EINVOICE_LEASE_SECONDS", "120"),
            ("EINVOICE_RECONCILE_AFTER_SECONDS", "10"),
            ("EINVOICE_RETRY_CAP_SECONDS", "10"),
            ("EINVOICE_READ_TIMEOUT_SECONDS", "10"),
            ("EINVOICE_CONNECT_TIMEOUT_SECONDS", "5"),
            ("EINVOICE_SWEEP_SECONDS", str(args.sweep)),
        ),
    )
    try:
        stack.start()
        started = time.perf_counter()
        submissions = backlog(args.documents)
        print(f"queued {len(submissions)} documents in {time.perf_counter() - started:.1f}s; logs in {folder}")

        started = time.perf_counter()
        stack.ensure(group)
        ready = time.perf_counter()

        def drained() -> bool:
            return not EInvoiceSubmission.objects.filter(pk__in=submissions).exclude(state__in=FINAL).exists()

        wait_for(drained, timeout=args.timeout, interval=0.5, what="the backlog to drain")
        finished = time.perf_counter()
        workers = list(stack.workers)
        stack.stop_workers()
    finally:
        stack.stop()

    per_second = max(1, args.rate // 60)
    calls = sorted(call.at for call in stack.simulator.calls())
    windows = Counter(int(moment) for moment in calls)
    span = range(int(calls[0]), int(calls[-1]) + 1)
    per_window = [windows.get(second, 0) for second in span]
    drain = calls[-1] - calls[0]
    endpoints = Counter(call.endpoint for call in stack.simulator.calls())

    states = Counter(EInvoiceSubmission.objects.filter(pk__in=submissions).values_list("state", flat=True))
    accepted = stack.simulator.accepted_by_document()
    once = sum(1 for uploads in accepted.values() if len(uploads) == 1)
    upload_events = EInvoiceEvent.objects.filter(submission__in=submissions, kind=EventKind.UPLOAD).count()
    upload_requests = sum(stack.simulator.upload_requests().values())
    tasks_run = sum(len(TASK_RUN.findall(worker.log.read_text(errors="replace"))) for worker in workers)

    print(
        f"documents {args.documents}, workers {args.workers} x prefork {args.concurrency}, limit {args.rate}/min "
        f"({per_second}/s), simulator processing {args.processing}s, sweep every {args.sweep:g}s"
    )
    print(f"final states: {dict(states)}; documents uploaded (accepted) exactly once: {once}")
    print(f"upload events {upload_events}, upload requests received {upload_requests}")
    print(f"calls to ANAF: {len(calls)} {dict(endpoints)}")
    print(f"workers up {ready - started:.1f}s; drained {finished - ready:.1f}s after they were ready")
    print(
        f"first to last call: {drain:.1f}s over {len(per_window)} limiter seconds; mean "
        f"{len(calls) / len(per_window):.2f} calls per limiter second (limit {per_second}/s)"
    )
    print(
        f"per limiter second (aligned): max {max(per_window)}, median {statistics.median(per_window):g}, "
        f"at the limit {sum(1 for n in per_window if n == per_second)} of {len(per_window)} seconds"
    )
    print(f"most in any sliding second: {sliding_max(calls, 1.0)}; in any sliding minute: {sliding_max(calls, 60.0)}")
    print(f"sync tasks run: {tasks_run} ({tasks_run / args.documents:.1f} per document)")
    within = max(per_window) <= per_second
    complete = states == Counter({"validated": args.documents}) and once == args.documents == len(accepted)
    print(
        "OK"
        if within and complete
        else "FAILED: "
        + ("rate exceeded " if not within else "")
        + ("not every document validated through one upload" if not complete else "")
    )
    return 0 if within and complete else 1


if __name__ == "__main__":
    sys.exit(main())
