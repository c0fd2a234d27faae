"""Issue throughput on one series under contention (PostgreSQL).

Every issue takes the series row lock, so this measures how long that lock is held and how the
allocator behaves when many issuers queue on it. Run (creates/migrates the database it is given):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stornare_bench \
        .venv/bin/python bench/issue_throughput.py --documents 600 --threads 1 4 8 16
"""

import argparse
import os
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.parties import bench_client, bench_company  # noqa: E402
from invoices.services import invoice_create, invoice_issue  # noqa: E402
from numbering.models import Series  # noqa: E402


def run(documents: int, threads: int) -> dict:
    company = bench_company(f"Bench {threads} SRL")
    client = bench_client(company)
    line = {"description": "Servicii", "quantity": Decimal("3"), "unit_price": Decimal("0.12"), "vat_rate": Decimal(21)}
    drafts = [invoice_create(company=company, client_id=client.uuid, lines=[line]) for _ in range(documents)]
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(share):
        try:
            barrier.wait()
            for draft in share:
                started = time.perf_counter()
                invoice_issue(document=draft)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
        finally:
            connection.close()

    shares = [drafts[i::threads] for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    series = Series.objects.get(company=company, kind="invoice")
    assert series.next_number == documents + 1, "numbers were lost or duplicated"
    latencies.sort()
    return {
        "threads": threads,
        "issues_per_s": documents / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4, 8, 16])
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    print(f"{'threads':>7} {'issues/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for threads in args.threads:
        row = run(args.documents, threads)
        print(f"{row['threads']:>7} {row['issues_per_s']:>9.0f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}")


if __name__ == "__main__":
    main()
