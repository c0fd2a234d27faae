"""Document lists answer in a constant number of queries, with an exact total (issue 3, "lists stay fast").

The unfiltered lists read their total from DocumentTally, which database triggers keep; filtered lists count
over the filter. Either way the total rides on the page's own statement. bench/list_latency.py measures the
latency at 1M documents; these tests pin the query budget and the exactness of the count.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import Document, DocumentTally
from invoices.services import draft_delete
from tests import factories
from tests.api.conftest import V1, ok
from tests.conftest import JsonClient

QUERY_BUDGET = 4  # token, company, page (with its total), the page's lines


@pytest.fixture
def api(token, company):
    return JsonClient(token, company.uuid)


@pytest.fixture
def documents(company):
    client = factories.client(company)
    invoices = [factories.invoice(company, client_=client) for _ in range(3)]
    note = factories.credit(invoices[0])
    draft = factories.invoice(company, client_=client, issue=False)
    return {"client": client, "invoices": invoices, "note": note, "draft": draft}


def live_count(company, **filters) -> int:
    return Document.objects.filter(company=company, deleted_at__isnull=True, **filters).count()


def tally(company, **filters) -> int:
    return sum(DocumentTally.objects.filter(company=company, **filters).values_list("live", flat=True))


def listed(api, path):
    """The page, and the SQL it took (after a first request has recorded the token's last use)."""
    api.get(path)
    with CaptureQueriesContext(connection) as queries:
        page = ok(api.get(path))
    return page, [query["sql"] for query in queries.captured_queries]


def test_the_unfiltered_lists_read_their_total_from_the_tally(api, company, documents):
    for path, expected in ((f"{V1}/invoices", live_count(company)), (f"{V1}/credit_notes", 1)):
        page, queries = listed(api, path)
        assert (page["total"], len(page["data"])) == (expected, expected)
        assert len(queries) <= QUERY_BUDGET, "\n".join(queries)
        page_query = next(sql for sql in queries if 'FROM "invoices_document"' in sql and "LIMIT" in sql)
        assert '"invoices_documenttally"' in page_query
        assert not any('COUNT(' in sql and "invoices_documenttally" not in sql for sql in queries), queries


@pytest.mark.parametrize(
    "query",
    [
        "isCreditNote=true",
        "isCreditNote=false",
        "status=issued",
        "status=draft",
        "anafStatus=not_submitted",
        "from=2000-01-01&to=2100-12-31",
        "currency=RON",
        "search=client",
        "direction=outgoing",
        "ordering=-total",
        "ordering=number",
    ],
)
def test_every_filtered_list_answers_within_the_budget_with_an_exact_total(api, company, documents, query):
    page, queries = listed(api, f"{V1}/invoices?{query}")
    assert len(queries) <= QUERY_BUDGET, "\n".join(queries)
    assert page["total"] == len(page["data"])


def test_filters_by_client_and_parent_count_exactly(api, company, documents):
    other_client = factories.client(company, name="Altcineva SRL")
    factories.invoice(company, client_=other_client)
    page, queries = listed(api, f"{V1}/invoices?clientId={documents['client'].uuid}")
    assert page["total"] == live_count(company, client=documents["client"]) == 5
    assert len(queries) <= QUERY_BUDGET
    parent = documents["invoices"][0]
    page, queries = listed(api, f"{V1}/credit_notes?parentDocumentId={parent.uuid}")
    assert (page["total"], [item["id"] for item in page["data"]]) == (1, [str(documents["note"].uuid)])
    assert len(queries) <= QUERY_BUDGET


def test_a_page_past_the_end_still_gives_the_exact_total(api, company, documents):
    page = ok(api.get(f"{V1}/invoices?page=4&limit=2"))
    assert (page["data"], page["total"], page["pages"]) == ([], 5, 3)
    page = ok(api.get(f"{V1}/invoices?status=issued&page=9"))
    assert (page["data"], page["total"]) == ([], 4)
    assert ok(api.get(f"{V1}/invoices?page=99999999999999999999"))["total"] == 5


def test_the_tally_follows_creates_deletes_and_kinds_per_company(company, documents):
    other = factories.company(name="Alta Firma SRL", cif="RO14399840")
    factories.invoice(other)
    assert (tally(company, is_credit_note=False), tally(company, is_credit_note=True)) == (4, 1)
    draft_delete(document=documents["draft"])
    assert tally(company, is_credit_note=False) == live_count(company, is_credit_note=False) == 3
    assert tally(other) == 1
    # A status change (issuing, paying) does not touch the tally: it only counts live documents.
    factories.pay(documents["invoices"][1], "121.00")
    assert tally(company) == live_count(company) == 4


def test_bulk_sql_is_counted_too(company, documents):
    """Triggers, not service code, keep the tally: a write that bypasses the services is counted as well."""
    Document.objects.filter(pk=documents["draft"].pk).update(deleted_at="2026-01-01T00:00:00Z")
    Document.objects.filter(pk=documents["draft"].pk).update(deleted_at=None)
    assert tally(company) == live_count(company) == 5
    Document.objects.filter(pk=documents["draft"].pk).delete()
    assert tally(company) == live_count(company) == 4


def test_the_unfiltered_total_is_the_tally_not_a_count(api, company, documents):
    """The list reports what the tally says: proof that it reads it (a skewed tally shows through)."""
    DocumentTally.objects.filter(company=company, is_credit_note=True).update(live=0)
    assert ok(api.get(f"{V1}/credit_notes"))["total"] == 0
    assert ok(api.get(f"{V1}/credit_notes?status=issued"))["total"] == 1


def test_einvoice_due_lists_what_is_not_at_anaf_within_or_past_its_deadline(api, company):
    from datetime import timedelta

    from invoices.services import today_in_romania

    today = today_in_romania()
    client = factories.client(company)
    overdue = factories.invoice(company, client_=client, issue_date=today - timedelta(days=6))
    soon = factories.invoice(company, client_=client, issue_date=today - timedelta(days=4))
    factories.invoice(company, client_=client, issue_date=today)  # 5 days left: neither
    sent = factories.invoice(company, client_=client, issue_date=today - timedelta(days=9))
    Document.objects.filter(pk=sent.pk).update(anaf_status="validated")
    factories.invoice(company, client_=client, issue=False)  # a draft has no deadline yet

    def listed_ids(query):
        return [item["id"] for item in ok(api.get(f"{V1}/invoices?{query}"))["data"]]

    assert listed_ids("einvoiceDue=overdue") == [str(overdue.uuid)]
    assert listed_ids("einvoiceDue=soon") == [str(soon.uuid)]
    assert api.get(f"{V1}/invoices?einvoiceDue=later").status_code == 422
