"""Numbers: the format, the row-locked allocator, yearly restarts, and the series' own writes."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from config.errors import RuleViolation
from creditnotes.services import credit_note_create
from invoices.models import Document, DocumentStatus
from invoices.services import draft_delete, invoice_create, invoice_issue
from numbering.models import Series, SeriesKind
from numbering.services import allocate, format_number, series_create, series_update
from tests import factories

FEB_18 = datetime.date(2026, 2, 18)


def default_series(company, kind=SeriesKind.INVOICE) -> Series:
    return Series.objects.get(company=company, kind=kind, is_default=True)


def issue_invoice(company, client, issue_date, **values):
    return factories.invoice(company, client_=client, issue_date=issue_date, **values)


# --- format_number ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, number, padding, year, expected",
    [
        ("CN-", 5, 4, 2026, "CN-2026-0005"),
        ("CN-", 1, 4, None, "CN-0001"),
        ("FAC-", 45, 4, 2026, "FAC-2026-0045"),
        ("FAC-", 12345, 4, 2026, "FAC-2026-12345"),  # wider than the padding: never truncated
        ("", 7, 6, None, "000007"),
        ("X", 7, 0, None, "X7"),
        ("A/", 3, 2, 2027, "A/2027-03"),
    ],
)
def test_format_number(prefix, number, padding, year, expected):
    assert format_number(prefix=prefix, number=number, padding=padding, year=year) == expected


# --- allocate ---------------------------------------------------------------------------------------


def test_allocate_hands_out_consecutive_numbers(company):
    series = default_series(company)
    with transaction.atomic():
        numbers = [allocate(series=series, issue_date=FEB_18) for _ in range(3)]
    assert numbers == ["FAC-2026-0001", "FAC-2026-0002", "FAC-2026-0003"]
    series.refresh_from_db()
    assert (series.year, series.next_number) == (2026, 4)


def test_allocate_reads_the_locked_row_not_a_stale_object(company):
    fresh = default_series(company)
    stale = Series.objects.get(pk=fresh.pk)
    with transaction.atomic():
        first = allocate(series=fresh, issue_date=FEB_18)
        second = allocate(series=stale, issue_date=FEB_18)
    assert (first, second) == ("FAC-2026-0001", "FAC-2026-0002")


def test_issuing_invoices_numbers_them_consecutively(company):
    client = factories.client(company)
    numbers = [issue_invoice(company, client, FEB_18).number for _ in range(3)]
    assert numbers == ["FAC-2026-0001", "FAC-2026-0002", "FAC-2026-0003"]


def test_invoice_and_credit_note_series_count_separately(company):
    invoice = factories.invoice(company, issue_date=FEB_18)
    note = factories.credit(invoice, issue_date=FEB_18)
    again = factories.invoice(company, issue_date=FEB_18)
    assert (invoice.number, note.number, again.number) == ("FAC-2026-0001", "CN-2026-0001", "FAC-2026-0002")


def test_yearly_series_restarts_at_one_in_a_new_year_of_issue_date(company):
    client = factories.client(company)
    numbers = [
        issue_invoice(company, client, datetime.date(2026, 12, 30)).number,
        issue_invoice(company, client, datetime.date(2026, 12, 31)).number,
        issue_invoice(company, client, datetime.date(2027, 1, 2)).number,
        issue_invoice(company, client, datetime.date(2027, 1, 3)).number,
    ]
    assert numbers == ["FAC-2026-0001", "FAC-2026-0002", "FAC-2027-0001", "FAC-2027-0002"]
    series = default_series(company)
    assert (series.year, series.next_number) == (2027, 3)


def test_a_closed_year_goes_on_from_its_own_last_number(company):
    # December's invoices issued in January: 2026 continues at 0002 while 2027 keeps its own counter.
    client = factories.client(company)
    assert issue_invoice(company, client, datetime.date(2026, 12, 30)).number == "FAC-2026-0001"
    assert issue_invoice(company, client, datetime.date(2027, 1, 5)).number == "FAC-2027-0001"
    assert issue_invoice(company, client, datetime.date(2026, 12, 31)).number == "FAC-2026-0002"
    series = default_series(company)
    assert (series.year, series.next_number) == (2027, 2)
    assert issue_invoice(company, client, datetime.date(2027, 1, 6)).number == "FAC-2027-0002"
    # A year the series never issued in starts at 1.
    assert issue_invoice(company, client, datetime.date(2025, 6, 1)).number == "FAC-2025-0001"


def test_non_yearly_series_never_restarts(company):
    series = series_create(company=company, name="CNX", kind=SeriesKind.CREDIT_NOTE, yearly=False)
    client = factories.client(company)

    def note(issue_date):
        return credit_note_create(
            company=company,
            client_id=client.uuid,
            series_id=series.uuid,
            reason="Discount",
            issue=True,
            issue_date=issue_date,
            amount=Decimal("12.10"),
            vat_rate=Decimal("21"),
        )

    numbers = [
        note(datetime.date(2026, 12, 31)).number,
        note(datetime.date(2027, 1, 2)).number,
        note(datetime.date(2026, 6, 1)).number,
    ]
    assert numbers == ["CNX-0001", "CNX-0002", "CNX-0003"]
    series.refresh_from_db()
    assert series.year is None


def test_custom_prefix_and_padding(company):
    series = series_create(company=company, name="B", prefix="", kind=SeriesKind.INVOICE, yearly=False, padding=6)
    invoice = factories.invoice(company, series_id=series.uuid, issue_date=FEB_18)
    assert invoice.number == "000001"


def test_series_prefix_defaults_to_name_and_dash(company):
    series = series_create(company=company, name="EXP", kind=SeriesKind.INVOICE)
    assert series.prefix == "EXP-"
    assert factories.invoice(company, series_id=series.uuid, issue_date=FEB_18).number == "EXP-2026-0001"


def test_non_yearly_series_starts_at_its_next_number(company):
    series = series_create(company=company, name="OLD", kind=SeriesKind.INVOICE, yearly=False, next_number=46)
    assert factories.invoice(company, series_id=series.uuid, issue_date=FEB_18).number == "OLD-0046"


def test_new_yearly_series_starts_at_its_next_number(company):
    """A series migrated from another program continues where it was (nextNumber 46), it does not
    start over at 1 just because it has not issued anything here yet."""
    series = series_create(company=company, name="MIG", kind=SeriesKind.INVOICE, next_number=46)
    assert factories.invoice(company, series_id=series.uuid, issue_date=FEB_18).number == "MIG-2026-0046"


# --- drafts take no number ---------------------------------------------------------------------------


def test_drafts_get_no_number(company):
    draft = factories.invoice(company, issue=False, issue_date=FEB_18)
    assert (draft.status, draft.number) == (DocumentStatus.DRAFT, None)
    series = default_series(company)
    assert (series.year, series.next_number) == (None, 1)


def test_deleting_a_draft_leaves_no_gap(company):
    client = factories.client(company)
    first = factories.invoice(company, client_=client, issue=False, issue_date=FEB_18)
    second = factories.invoice(company, client_=client, issue=False, issue_date=FEB_18)
    draft_delete(document=first)
    assert invoice_issue(document=second).number == "FAC-2026-0001"
    assert issue_invoice(company, client, FEB_18).number == "FAC-2026-0002"
    assert Document.objects.filter(company=company, number__isnull=False).count() == 2


def test_failed_issue_consumes_no_number(company):
    client = factories.client(company)
    draft = factories.invoice(company, client_=client, issue=False, due_date=datetime.date(2000, 1, 1))
    with pytest.raises(RuleViolation) as e:
        invoice_issue(document=draft)
    assert set(e.value.details) == {"dueDate"}
    assert default_series(company).next_number == 1
    assert issue_invoice(company, client, FEB_18).number == "FAC-2026-0001"


# --- series_create / series_update ---------------------------------------------------------------------


def test_series_update_moves_next_number_forward(company):
    series = series_create(company=company, name="FWD", kind=SeriesKind.INVOICE, yearly=False)
    updated = series_update(series=series, next_number=10)
    assert updated.next_number == 10
    assert factories.invoice(company, series_id=series.uuid, issue_date=FEB_18).number == "FWD-0010"


def test_series_update_next_number_of_a_fresh_yearly_series_is_honoured(company):
    series = default_series(company)
    series_update(series=series, next_number=10)
    assert factories.invoice(company, issue_date=FEB_18).number == "FAC-2026-0010"


def test_series_next_number_is_fixed_once_the_series_has_issued(company):
    client = factories.client(company)
    series_update(series=default_series(company), next_number=46)  # continuing another system's numbering
    assert issue_invoice(company, client, FEB_18).number == "FAC-2026-0046"
    with pytest.raises(RuleViolation) as e:
        series_update(series=default_series(company), next_number=60)  # would leave 47–59 unissued
    assert set(e.value.details) == {"nextNumber"}
    assert issue_invoice(company, client, FEB_18).number == "FAC-2026-0047"


def test_series_update_padding_and_prefix_apply_to_the_next_number(company):
    client = factories.client(company)
    issue_invoice(company, client, FEB_18)
    series_update(series=default_series(company), padding=6, prefix="F/")
    assert issue_invoice(company, client, FEB_18).number == "F/2026-000002"


def test_series_update_never_moves_next_number_back(company):
    client = factories.client(company)
    for _ in range(3):
        issue_invoice(company, client, FEB_18)
    series = default_series(company)
    with pytest.raises(RuleViolation) as e:
        series_update(series=series, next_number=2)
    assert set(e.value.details) == {"nextNumber"}
    series.refresh_from_db()
    assert series.next_number == 4
    assert series_update(series=series, next_number=4).next_number == 4  # staying put is allowed


def test_series_names_are_unique_per_company(company, other_company):
    with pytest.raises(RuleViolation) as e:
        series_create(company=company, name="FAC", kind=SeriesKind.CREDIT_NOTE)
    assert set(e.value.details) == {"name"}
    cn = default_series(company, SeriesKind.CREDIT_NOTE)
    with pytest.raises(RuleViolation) as e:
        series_update(series=cn, name="FAC")
    assert set(e.value.details) == {"name"}
    assert series_update(series=cn, name="CN").name == "CN"  # its own name is fine
    # Another company's names do not count.
    assert series_create(company=other_company, name="EXTRA", kind=SeriesKind.INVOICE).name == "EXTRA"
    assert series_create(company=company, name="EXTRA", kind=SeriesKind.INVOICE).name == "EXTRA"


@pytest.mark.parametrize(
    "name, padding, fields",
    [("", 4, {"name"}), ("  ", 4, {"name"}), ("P", 11, {"padding"}), ("", 11, {"name", "padding"})],
)
def test_series_create_checks_name_and_padding(company, name, padding, fields):
    with pytest.raises(RuleViolation) as e:
        series_create(company=company, name=name, kind=SeriesKind.INVOICE, padding=padding)
    assert set(e.value.details) == fields


def test_series_update_checks_padding(company):
    with pytest.raises(RuleViolation) as e:
        series_update(series=default_series(company), padding=11)
    assert set(e.value.details) == {"padding"}


def test_one_default_series_per_kind_on_create(company):
    old = default_series(company)
    new = series_create(company=company, name="FAC2", kind=SeriesKind.INVOICE, is_default=True)
    old.refresh_from_db()
    assert (old.is_default, new.is_default) == (False, True)
    assert default_series(company, SeriesKind.CREDIT_NOTE).name == "CN"  # the other kind is untouched
    assert factories.invoice(company, issue_date=FEB_18).number == "FAC2-2026-0001"


def test_one_default_series_per_kind_on_update(company):
    other = series_create(company=company, name="FAC2", kind=SeriesKind.INVOICE)
    old = default_series(company)
    series_update(series=other, is_default=True)
    old.refresh_from_db()
    other.refresh_from_db()
    assert (old.is_default, other.is_default) == (False, True)
    assert Series.objects.filter(company=company, kind=SeriesKind.INVOICE, is_default=True).count() == 1
    assert Series.objects.filter(company=company, kind=SeriesKind.CREDIT_NOTE, is_default=True).count() == 1


def test_without_a_default_series_an_invoice_names_one(company):
    series_update(series=default_series(company), is_default=False)
    client = factories.client(company)
    with pytest.raises(RuleViolation) as e:
        invoice_create(company=company, client_id=client.uuid, lines=[factories.line()])
    assert set(e.value.details) == {"seriesId"}
