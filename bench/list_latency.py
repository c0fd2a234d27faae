"""List latency at 1k and at 1M documents in one company, in the same run (PostgreSQL).

Builds two companies with `generate_series` — a small one (1,000 documents) and a large one (1,000,000) — each
document with one line, ANALYZEs, then requests the first page of every common list through the whole Django
stack (auth, company, throttle, page, rendering) and reports p50/p99 and the number of SQL queries per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stornare_bench_lists \\
        .venv/bin/python bench/list_latency.py --small 1000 --large 1000000 --requests 200

The database is migrated and the two companies built once; a later run with the same sizes reuses them.
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")  # measuring the list, not the throttle

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Company  # noqa: E402
from accounts.services import api_token_create, membership_add, user_get_or_create  # noqa: E402
from bench.parties import bench_client, bench_company  # noqa: E402
from creditnotes.services import invoice_credit  # noqa: E402
from invoices.models import Document, DocumentLine  # noqa: E402
from invoices.services import invoice_create  # noqa: E402

CLIENTS = 50
# Generated documents: 80 % invoices (5 % of them drafts, a third of the rest paid), 20 % credit notes of
# the invoice before them (a tenth of those voided); a tenth validated by ANAF; spread over ~5.5 years.
DOCUMENT_OVERRIDES = {
    "uuid": "gen_random_uuid()",
    "is_credit_note": "g % 5 = 0",
    "parent_document_id": "CASE WHEN g % 5 = 0 THEN first_id + g - 2 END",
    "series_id": "CASE WHEN g % 5 = 0 THEN note.series_id ELSE t.series_id END",
    "invoice_type_code": "CASE WHEN g % 5 = 0 THEN '381' ELSE '380' END",
    "status": (
        "CASE WHEN g % 5 = 0 THEN (CASE WHEN g % 50 = 0 THEN 'voided' ELSE 'issued' END)"
        " WHEN g % 20 = 1 THEN 'draft' WHEN g % 3 = 0 THEN 'paid' ELSE 'issued' END"
    ),
    "number": "CASE WHEN g % 5 <> 0 AND g % 20 = 1 THEN NULL WHEN g % 5 = 0 THEN 'CN-' || g ELSE 'FAC-' || g END",
    "issue_date": (
        "CASE WHEN g % 5 <> 0 AND g % 20 = 1 THEN NULL ELSE DATE '2021-01-01' + (g * 2000 / generated)::int END"
    ),
    "client_id": "clients[1 + g % array_length(clients, 1)]",
    "subtotal": "CASE WHEN g % 5 = 0 THEN -t.subtotal ELSE t.subtotal END",
    "vat_total": "CASE WHEN g % 5 = 0 THEN -t.vat_total ELSE t.vat_total END",
    "total": "CASE WHEN g % 5 = 0 THEN -t.total ELSE t.total END",
    "amount_paid": "CASE WHEN g % 5 <> 0 AND g % 20 <> 1 AND g % 3 = 0 THEN t.total ELSE 0 END",
    "search_text": "CASE WHEN g % 5 = 0 THEN 'cn-' ELSE 'fac-' END || g || ' bench client ' || (g % 50) || ' srl'",
    "anaf_status": "CASE WHEN g % 10 = 3 THEN 'validated' ELSE 'not_submitted' END",
    "created_at": "now() - make_interval(secs => generated - g)",
    "updated_at": "now()",
}
LINE_OVERRIDES = {
    "uuid": "gen_random_uuid()",
    "document_id": "d.id",
    "quantity": "CASE WHEN d.is_credit_note THEN -l.quantity ELSE l.quantity END",
    "net_amount": "CASE WHEN d.is_credit_note THEN -l.net_amount ELSE l.net_amount END",
    "vat_amount": "CASE WHEN d.is_credit_note THEN -l.vat_amount ELSE l.vat_amount END",
    "line_total": "CASE WHEN d.is_credit_note THEN -l.line_total ELSE l.line_total END",
}


def columns(model, overrides: dict, default_alias: str) -> tuple[str, str]:
    names = [field.column for field in model._meta.concrete_fields if field.column != "id"]
    # Literal % (modulo) doubled: the statement also carries parameters.
    values = [overrides.get(name, f"{default_alias}.{name}").replace("%", "%%") for name in names]
    return ", ".join(names), ", ".join(values)


def build(name: str, size: int) -> Company:
    """A company with `size` documents: two made by the services as templates, the rest copied in SQL."""
    company = bench_company(name)
    clients = [bench_client(company, f"Bench Client {n} SRL") for n in range(CLIENTS)]
    line = {"description": "Servicii", "quantity": Decimal(3), "unit_price": Decimal("40.50"), "vat_rate": Decimal(21)}
    template = invoice_create(company=company, client_id=clients[0].uuid, lines=[line], issue=True)
    note = invoice_credit(invoice=template, reason="Storno", amount=template.total, issue=True, auto_apply=False)
    document_columns, document_values = columns(Document, DOCUMENT_OVERRIDES, "t")
    line_columns, line_values = columns(DocumentLine, LINE_OVERRIDES, "l")
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM invoices_document")
        first_id = cursor.fetchone()[0]
        cursor.execute(
            f"""
            WITH params AS (SELECT %s::bigint AS first_id, %s::bigint AS generated, %s::bigint[] AS clients)
            INSERT INTO invoices_document (id, {document_columns})
            SELECT first_id + g - 1, {document_values}
            FROM params, generate_series(1, generated) AS g,
                 invoices_document AS t, invoices_document AS note
            WHERE t.id = %s AND note.id = %s
            """,
            [first_id, size - 2, [client.pk for client in clients], template.pk, note.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO invoices_documentline ({line_columns})
            SELECT {line_values} FROM invoices_document AS d, invoices_documentline AS l
            WHERE d.id >= %s AND d.company_id = %s AND l.document_id = %s
            """,
            [first_id, company.pk, template.pk],
        )
        # The identity column must stay ahead of the ids given explicitly above.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('invoices_document', 'id'), max(id)) FROM invoices_document"
        )
    return company


def companies(small: int, large: int) -> list[tuple[int, Company]]:
    found = []
    for size in (small, large):
        name = f"Bench lists {size}"
        company = Company.objects.filter(name=name).first()
        if company is None:
            started = time.perf_counter()
            company = build(name, size)
            print(f"built {size:,} documents in {time.perf_counter() - started:.0f} s", flush=True)
        assert Document.objects.filter(company=company).count() == size, f"{name} is incomplete: drop the database"
        found.append((size, company))
    return found


def scenarios(company: Company) -> list[tuple[str, str]]:
    client = company.clients.order_by("pk")[7]
    parent = Document.objects.filter(company=company, is_credit_note=True).order_by("-pk")[1].parent_document
    number = Document.objects.filter(company=company, number__isnull=False).order_by("pk")[30].number
    return [
        ("unfiltered", "/api/v1/invoices"),
        ("credit notes", "/api/v1/credit_notes"),
        ("isCreditNote=false", "/api/v1/invoices?isCreditNote=false"),
        ("status=paid", "/api/v1/invoices?status=paid"),
        ("credit notes, status=voided", "/api/v1/credit_notes?status=voided"),
        ("anafStatus=validated", "/api/v1/invoices?anafStatus=validated"),
        ("clientId", f"/api/v1/invoices?clientId={client.uuid}"),
        ("parentDocumentId", f"/api/v1/credit_notes?parentDocumentId={parent.uuid}"),
        ("from/to (one quarter)", "/api/v1/invoices?from=2024-01-01&to=2024-03-31"),
        ("search=number", f"/api/v1/invoices?search={number}"),
        ("search=client name", "/api/v1/invoices?search=bench%20client%207%20"),
        ("ordering=-total", "/api/v1/invoices?ordering=-total"),
        ("ordering=number", "/api/v1/invoices?ordering=number"),
    ]


def measure(http: HttpClient, headers: dict, path: str, requests: int) -> dict:
    for _ in range(5):
        assert http.get(path, headers=headers).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = http.get(path, headers=headers)
    queries = len(captured.captured_queries)  # now: the next request's start clears the log it reads
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        http.get(path, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "total": response.json()["total"],
        "queries": queries,
        "p50": statistics.median(latencies),
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    built = companies(args.small, args.large)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE invoices_document")
        cursor.execute("VACUUM ANALYZE invoices_documentline")
        cursor.execute("VACUUM ANALYZE invoices_documenttally")
    user = user_get_or_create(username="bench")
    http = HttpClient()
    results = {}
    for size, company in built:
        membership_add(user=user, company=company)
        _, key = api_token_create(user=user, name=f"bench {size}")
        headers = {"authtoken": key, "X-Company": str(company.uuid)}
        for label, path in scenarios(company):
            results[(label, size)] = measure(http, headers, path, args.requests)
    small, large = args.small, args.large
    print(
        f"| list | total at {small:,} | p50 / p99 ms at {small:,} "
        f"| total at {large:,} | p50 / p99 ms at {large:,} | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, _ in scenarios(built[0][1]):
        a, b = results[(label, small)], results[(label, large)]
        print(
            f"| {label} | {a['total']:,} | {a['p50']:.1f} / {a['p99']:.1f} | {b['total']:,} "
            f"| {b['p50']:.1f} / {b['p99']:.1f} | {a['queries']} / {b['queries']} |"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes "
            "WHERE relname = 'invoices_document' ORDER BY pg_relation_size(indexrelid) DESC"
        )
        print("\nindex sizes:", ", ".join(f"{name} {size}" for name, size in cursor.fetchall()))


if __name__ == "__main__":
    main()
