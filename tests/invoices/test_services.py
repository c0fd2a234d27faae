"""Invoice services: create, edit, delete, issue, line rules, currencies, payments."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from config.errors import InvalidState, RuleViolation
from invoices.models import Document, DocumentLine, DocumentStatus, Payment, PaymentMethod
from invoices.selectors import documents_of
from invoices.services import (
    client_delete,
    client_update,
    draft_delete,
    invoice_create,
    invoice_issue,
    invoice_update,
    payment_record,
)
from numbering.models import Series, SeriesKind
from numbering.services import series_create
from tests import factories

D = Decimal
FEB_18 = datetime.date(2026, 2, 18)


def line(**kw):
    return factories.line(**kw)


def create(company, client=None, **values):
    client = client or factories.client(company)
    values.setdefault("lines", [line()])
    return invoice_create(company=company, client_id=client.uuid, **values)


def figures(document):
    return document.subtotal, document.vat_total, document.total


def fixed_now(monkeypatch, instant: datetime.datetime):
    monkeypatch.setattr(timezone, "now", lambda: instant)


# --- create ----------------------------------------------------------------------------------------


def test_create_draft_computes_totals_and_line_defaults(company):
    client = factories.client(company)
    draft = create(
        company,
        client,
        lines=[line(quantity="2", unit_price="100.00", discount=D("10.00"))],
        notes="Mulțumim",
        internal_notes="VIP",
    )
    assert (draft.status, draft.number, draft.issue_date, draft.due_date) == (DocumentStatus.DRAFT, None, None, None)
    assert (draft.is_credit_note, draft.direction, draft.invoice_type_code) == (False, "outgoing", "380")
    assert (draft.currency, draft.exchange_rate) == ("RON", D("1.000000"))
    assert figures(draft) == (D("190.00"), D("39.90"), D("229.90"))
    assert draft.vat_breakdown == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "190.00", "vatAmount": "39.90"}
    ]
    assert (draft.notes, draft.internal_notes, draft.client_snapshot) == ("Mulțumim", "VIP", None)
    assert draft.series == Series.objects.get(company=company, kind=SeriesKind.INVOICE, is_default=True)
    (only,) = draft.lines.all()
    assert (only.position, only.unit_of_measure, only.discount, only.vat_category) == (1, "H87", D("10.00"), "S")
    assert (only.net_amount, only.vat_amount, only.line_total) == (D("190.00"), D("39.90"), D("229.90"))


def test_line_defaults_without_discount(company):
    draft = create(company, lines=[line(quantity="1.5", unit_price="10.00", vat_rate="9")])
    (only,) = draft.lines.all()
    assert (only.unit_of_measure, only.discount, only.vat_category) == ("H87", D("0.00"), "S")
    assert (only.net_amount, only.vat_amount) == (D("15.00"), D("1.35"))


def test_vat_is_computed_per_rate_on_summed_nets(company):
    draft = create(company, lines=[line(quantity="1", unit_price="0.12") for _ in range(3)])
    assert figures(draft) == (D("0.36"), D("0.08"), D("0.44"))  # not 3 × 0.03


def test_several_rates_make_a_breakdown(company):
    draft = create(
        company,
        lines=[
            line(quantity="1", unit_price="100.00", vat_rate="21"),
            line(quantity="2", unit_price="25.00", vat_rate="9"),
            line(quantity="1", unit_price="30.00", vat_rate="0", vat_category="Z"),
        ],
    )
    assert figures(draft) == (D("180.00"), D("25.50"), D("205.50"))
    assert draft.vat_breakdown == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "100.00", "vatAmount": "21.00"},
        {"vatRate": "9.00", "vatCategory": "S", "taxableAmount": "50.00", "vatAmount": "4.50"},
        {"vatRate": "0.00", "vatCategory": "Z", "taxableAmount": "30.00", "vatAmount": "0.00"},
    ]


def test_create_with_issue_issues_at_once(company):
    invoice = create(company, issue=True, issue_date=FEB_18)
    assert (invoice.status, invoice.number, invoice.issue_date) == (DocumentStatus.ISSUED, "FAC-2026-0001", FEB_18)


def test_create_with_issue_is_one_transaction(company, monkeypatch):
    client = factories.client(company)
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC))
    with pytest.raises(RuleViolation) as e:
        create(company, client, due_date=datetime.date(2026, 3, 1), issue=True)
    assert set(e.value.details) == {"dueDate"}
    assert not Document.objects.filter(company=company).exists()
    assert not DocumentLine.objects.exists()


def test_explicit_series(company):
    series = series_create(company=company, name="EXP", kind=SeriesKind.INVOICE)
    invoice = create(company, series_id=series.uuid, issue=True, issue_date=FEB_18)
    assert invoice.number == "EXP-2026-0001"


def test_a_negative_line_is_allowed_when_the_total_stays_positive(company):
    draft = create(company, lines=[line(quantity="2", unit_price="100.00"), line(quantity="-1", unit_price="50.00")])
    assert figures(draft) == (D("150.00"), D("31.50"), D("181.50"))


# --- line rules ---------------------------------------------------------------------------------------


def test_zero_percent_line_must_name_its_category(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(vat_rate="0")])
    assert set(e.value.details) == {"lines[0].vatCategory"}


def test_zero_rated_z_line_needs_no_exemption_reason(company):
    draft = create(company, lines=[line(quantity="1", unit_price="100.00", vat_rate="0", vat_category="Z")])
    assert figures(draft) == (D("100.00"), D("0.00"), D("100.00"))


@pytest.mark.parametrize("category", ["E", "AE", "K", "G", "O"])
def test_exempt_categories_need_an_exemption_reason(company, category):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(vat_rate="0", vat_category=category)])
    assert set(e.value.details) == {"lines[0].vatExemptionReason"}


@pytest.mark.parametrize("category", ["E", "AE", "K", "G", "O"])
@pytest.mark.parametrize(
    "exemption", [{"vat_exemption_reason": "Scutit cf. art. 292"}, {"vat_exemption_code": "VATEX-EU-79-C"}]
)
def test_exempt_categories_with_a_reason_or_code_are_accepted(company, category, exemption):
    draft = create(
        company, lines=[line(quantity="1", unit_price="80.00", vat_rate="0", vat_category=category, **exemption)]
    )
    (only,) = draft.lines.all()
    assert (only.vat_category, only.vat_amount) == (category, D("0.00"))
    assert figures(draft) == (D("80.00"), D("0.00"), D("80.00"))


def test_standard_category_with_zero_rate_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(vat_rate="0", vat_category="S")])
    assert set(e.value.details) == {"lines[0].vatRate"}


@pytest.mark.parametrize("category", ["Z", "E", "AE"])
def test_zero_categories_with_a_rate_are_refused(company, category):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(vat_rate="21", vat_category=category, vat_exemption_reason="x")])
    assert set(e.value.details) == {"lines[0].vatRate"}


def test_unknown_category_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(vat_category="X")])
    assert set(e.value.details) == {"lines[0].vatCategory"}


def test_quantity_zero_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(), line(quantity="0")])
    assert set(e.value.details) == {"lines[1].quantity"}


def test_discount_above_quantity_times_price_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(quantity="2", unit_price="10.00", discount=D("20.01")), line()])
    assert set(e.value.details) == {"lines[0].discount"}


def test_discount_equal_to_quantity_times_price_is_accepted(company):
    draft = create(company, lines=[line(quantity="2", unit_price="10.00", discount=D("20.00")), line()])
    assert figures(draft) == (D("100.00"), D("21.00"), D("121.00"))


def test_negative_invoice_total_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(quantity="-1", unit_price="50.00")])
    assert set(e.value.details) == {"lines"}


def test_invoice_needs_lines(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[])
    assert set(e.value.details) == {"lines"}


def test_unit_of_measure_must_be_a_rec_20_code(company):
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(unit_of_measure="piece")])
    assert set(e.value.details) == {"lines[0].unitOfMeasure"}
    draft = create(company, lines=[line(unit_of_measure="HUR")])
    assert draft.lines.get().unit_of_measure == "HUR"


def test_total_above_the_money_cap_is_refused(company):
    # One line over the cap is named; lines each under it that add up over it are refused as a whole.
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(quantity="1000000000", unit_price="10000.00")])
    assert set(e.value.details) == {"lines[0].quantity"}
    with pytest.raises(RuleViolation) as e:
        create(company, lines=[line(quantity="600000000", unit_price="1000.00", vat_rate="0", vat_category="Z")] * 2)
    assert set(e.value.details) == {"lines"}


# --- currencies -----------------------------------------------------------------------------------------


def test_ron_exchange_rate_is_one(company):
    draft = create(company, currency="RON", exchange_rate=D("1"))
    assert draft.exchange_rate == D("1.000000")


def test_ron_with_another_exchange_rate_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        create(company, exchange_rate=D("4.9765"))
    assert set(e.value.details) == {"exchangeRate"}


def test_non_ron_needs_an_exchange_rate(company):
    with pytest.raises(RuleViolation) as e:
        create(company, currency="EUR")
    assert set(e.value.details) == {"exchangeRate"}


@pytest.mark.parametrize("rate", [D("0"), D("-4.97")])
def test_exchange_rate_must_be_positive(company, rate):
    with pytest.raises(RuleViolation) as e:
        create(company, currency="EUR", exchange_rate=rate)
    assert set(e.value.details) == {"exchangeRate"}


def test_non_ron_with_exchange_rate(company):
    draft = create(company, currency="EUR", exchange_rate=D("4.976500"))
    assert (draft.currency, draft.exchange_rate) == ("EUR", D("4.976500"))


@pytest.mark.parametrize("currency", ["XXX", "ZZZ"])
def test_currency_outside_iso_4217_is_refused(company, currency):
    with pytest.raises(RuleViolation) as e:
        create(company, currency=currency, exchange_rate=D("2"))
    assert "currency" in e.value.details


# --- client and series ids -------------------------------------------------------------------------------


def test_client_is_required(company):
    with pytest.raises(RuleViolation) as e:
        invoice_create(company=company, lines=[line()])
    assert set(e.value.details) == {"clientId"}


def test_unknown_client_id_is_a_violation(company):
    with pytest.raises(RuleViolation) as e:
        invoice_create(company=company, client_id=uuid.uuid4(), lines=[line()])
    assert set(e.value.details) == {"clientId"}


def test_another_companys_client_is_a_violation(company, other_company):
    foreign = factories.client(other_company)
    with pytest.raises(RuleViolation) as e:
        create(company, foreign)
    assert set(e.value.details) == {"clientId"}


def test_deleted_client_is_a_violation(company):
    client = factories.client(company)
    client_delete(client=client)
    with pytest.raises(RuleViolation) as e:
        create(company, client)
    assert set(e.value.details) == {"clientId"}


def test_issuing_a_draft_whose_client_was_deleted_is_refused(company):
    client = factories.client(company)
    draft = create(company, client)
    client_delete(client=client)
    with pytest.raises(RuleViolation) as e:
        invoice_issue(document=draft)
    assert set(e.value.details) == {"clientId"}
    draft.refresh_from_db()
    assert draft.status == DocumentStatus.DRAFT


def test_unknown_series_id_is_a_violation(company):
    with pytest.raises(RuleViolation) as e:
        create(company, series_id=uuid.uuid4())
    assert set(e.value.details) == {"seriesId"}


def test_another_companys_series_is_a_violation(company, other_company):
    foreign = Series.objects.get(company=other_company, kind=SeriesKind.INVOICE)
    with pytest.raises(RuleViolation) as e:
        create(company, series_id=foreign.uuid)
    assert set(e.value.details) == {"seriesId"}


def test_series_of_the_wrong_kind_is_a_violation(company):
    notes = Series.objects.get(company=company, kind=SeriesKind.CREDIT_NOTE)
    with pytest.raises(RuleViolation) as e:
        create(company, series_id=notes.uuid)
    assert set(e.value.details) == {"seriesId"}


def test_violations_are_collected_across_fields(company):
    with pytest.raises(RuleViolation) as e:
        invoice_create(
            company=company,
            client_id=uuid.uuid4(),
            series_id=uuid.uuid4(),
            currency="EUR",
            issue_date=datetime.date(2026, 5, 2),
            due_date=datetime.date(2026, 5, 1),
            lines=[line(quantity="0"), line(vat_rate="0"), line(discount=D("500")), line(quantity="10")],
        )
    assert set(e.value.details) == {
        "clientId",
        "seriesId",
        "exchangeRate",
        "dueDate",
        "lines[0].quantity",
        "lines[1].vatCategory",
        "lines[2].discount",
    }
    assert e.value.message == "The request is not valid."
    assert Document.objects.filter(company=company).count() == 0


def test_a_single_violation_is_its_own_message(company):
    with pytest.raises(RuleViolation) as e:
        create(company, currency="EUR")
    assert e.value.message == e.value.details["exchangeRate"][0]


# --- update (PATCH / PUT) ----------------------------------------------------------------------------------


def test_patch_merges_into_the_draft(company):
    client = factories.client(company)
    draft = create(
        company,
        client,
        lines=[line(quantity="2", unit_price="50.00")],
        notes="a",
        internal_notes="i",
        issue_date=FEB_18,
    )
    updated = invoice_update(document=draft, changes={"notes": "b"})
    updated.refresh_from_db()
    assert (updated.notes, updated.internal_notes, updated.issue_date, updated.client) == ("b", "i", FEB_18, client)
    assert figures(updated) == (D("100.00"), D("21.00"), D("121.00"))
    (only,) = updated.lines.all()
    assert (only.quantity, only.unit_price, only.vat_category) == (D("2.0000"), D("50.00"), "S")


def test_patch_lines_replaces_the_lines_only(company):
    draft = create(company, lines=[line()], notes="a")
    updated = invoice_update(document=draft, changes={"lines": [line(quantity="3"), line(vat_rate="9")]})
    updated.refresh_from_db()
    assert updated.notes == "a"
    assert figures(updated) == (D("400.00"), D("72.00"), D("472.00"))
    assert [ln.position for ln in updated.lines.all()] == [1, 2]
    assert DocumentLine.objects.filter(document=draft).count() == 2


def test_patch_client(company):
    draft = create(company)
    other = factories.client(company, name="Beta SRL")
    assert invoice_update(document=draft, changes={"client_id": other.uuid}).client == other


def test_patch_to_an_unknown_client_is_a_violation(company):
    draft = create(company)
    with pytest.raises(RuleViolation) as e:
        invoice_update(document=draft, changes={"client_id": uuid.uuid4()})
    assert set(e.value.details) == {"clientId"}


def test_patch_currency_requires_a_rate_and_back_to_ron_resets_it(company):
    draft = create(company)
    with pytest.raises(RuleViolation) as e:
        invoice_update(document=draft, changes={"currency": "EUR"})
    assert set(e.value.details) == {"exchangeRate"}
    eur = invoice_update(document=draft, changes={"currency": "EUR", "exchange_rate": D("4.97")})
    assert (eur.currency, eur.exchange_rate) == ("EUR", D("4.97"))
    notes_only = invoice_update(document=draft, changes={"notes": "x"})
    assert (notes_only.currency, notes_only.exchange_rate) == ("EUR", D("4.970000"))
    ron = invoice_update(document=draft, changes={"currency": "RON"})
    assert (ron.currency, ron.exchange_rate) == ("RON", D("1.000000"))


def test_patch_dates_are_checked_against_each_other(company):
    draft = create(company, issue_date=FEB_18, due_date=datetime.date(2026, 3, 1))
    with pytest.raises(RuleViolation) as e:
        invoice_update(document=draft, changes={"issue_date": datetime.date(2026, 3, 2)})
    assert set(e.value.details) == {"dueDate"}
    moved = invoice_update(document=draft, changes={"issue_date": datetime.date(2026, 3, 1)})
    assert (moved.issue_date, moved.due_date) == (datetime.date(2026, 3, 1), datetime.date(2026, 3, 1))


def test_put_replaces_the_whole_draft(company):
    client = factories.client(company)
    draft = create(company, client, notes="a", internal_notes="i", issue_date=FEB_18, due_date=FEB_18)
    replaced = invoice_update(
        document=draft,
        changes={"client_id": client.uuid, "lines": [line(quantity="5", unit_price="10.00")]},
        replace=True,
    )
    replaced.refresh_from_db()
    assert (replaced.notes, replaced.internal_notes, replaced.issue_date, replaced.due_date) == ("", "", None, None)
    assert figures(replaced) == (D("50.00"), D("10.50"), D("60.50"))


def test_put_without_the_required_fields_is_a_violation(company):
    draft = create(company)
    with pytest.raises(RuleViolation) as e:
        invoice_update(document=draft, changes={"notes": "only"}, replace=True)
    assert set(e.value.details) == {"clientId", "lines"}


def test_update_that_fails_leaves_the_draft_alone(company):
    draft = create(company, notes="a")
    with pytest.raises(RuleViolation):
        invoice_update(document=draft, changes={"notes": "b", "lines": [line(quantity="0")]})
    draft.refresh_from_db()
    assert draft.notes == "a"
    assert figures(draft) == (D("100.00"), D("21.00"), D("121.00"))


@pytest.mark.parametrize("status_after", ["issued", "partially_paid", "paid"])
def test_only_drafts_are_editable(company, status_after):
    invoice = create(company, issue=True)
    if status_after == "partially_paid":
        factories.pay(invoice, "1.00")
    elif status_after == "paid":
        factories.pay(invoice, "121.00")
    invoice.refresh_from_db()
    assert invoice.status == status_after
    with pytest.raises(InvalidState):
        invoice_update(document=invoice, changes={"notes": "x"})
    with pytest.raises(InvalidState):
        invoice_update(document=invoice, changes={"lines": [line()]}, replace=True)
    with pytest.raises(InvalidState):
        draft_delete(document=invoice)
    with pytest.raises(InvalidState):
        invoice_issue(document=invoice)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.notes, invoice.deleted_at) == (status_after, "", None)


# --- delete ------------------------------------------------------------------------------------------


def test_delete_draft_is_a_soft_delete(company):
    draft = create(company)
    draft_delete(document=draft)
    row = Document.objects.get(pk=draft.pk)
    assert row.deleted_at is not None
    assert row.status == DocumentStatus.DRAFT
    assert not documents_of(company).filter(pk=draft.pk).exists()


# --- issue --------------------------------------------------------------------------------------------


def test_issue_allocates_number_and_defaults_dates(company):
    draft = create(company)
    issued = invoice_issue(document=draft)
    today = timezone.localdate()
    assert issued.status == DocumentStatus.ISSUED
    assert issued.number == f"FAC-{today.year}-0001"
    assert (issued.issue_date, issued.due_date) == (today, today)


@pytest.mark.parametrize(
    "instant, expected",
    [
        # 21:30 UTC on 31 March is 00:30 on 1 April in Bucharest (summer time, UTC+3).
        (datetime.datetime(2026, 3, 31, 21, 30, tzinfo=datetime.UTC), datetime.date(2026, 4, 1)),
        # 22:30 UTC on 31 December is already the new year in Bucharest (UTC+2).
        (datetime.datetime(2026, 12, 31, 22, 30, tzinfo=datetime.UTC), datetime.date(2027, 1, 1)),
        (datetime.datetime(2026, 7, 15, 20, 59, tzinfo=datetime.UTC), datetime.date(2026, 7, 15)),
    ],
)
def test_issue_date_is_today_in_bucharest(company, monkeypatch, instant, expected):
    draft = create(company)
    fixed_now(monkeypatch, instant)
    issued = invoice_issue(document=draft)
    assert (issued.issue_date, issued.due_date) == (expected, expected)
    assert issued.number == f"FAC-{expected.year}-0001"


def test_given_issue_date_is_kept_backdating(company):
    draft = create(company, issue_date=datetime.date(2025, 1, 15))
    issued = invoice_issue(document=draft)
    issued.refresh_from_db()
    assert (issued.issue_date, issued.due_date, issued.number) == (
        datetime.date(2025, 1, 15),
        datetime.date(2025, 1, 15),
        "FAC-2025-0001",
    )


def test_given_due_date_is_kept(company):
    issued = create(company, issue_date=FEB_18, due_date=datetime.date(2026, 3, 20), issue=True)
    assert (issued.issue_date, issued.due_date) == (FEB_18, datetime.date(2026, 3, 20))


def test_due_date_before_issue_date_is_refused_at_create(company):
    with pytest.raises(RuleViolation) as e:
        create(company, issue_date=FEB_18, due_date=datetime.date(2026, 2, 17))
    assert set(e.value.details) == {"dueDate"}


def test_due_date_before_the_defaulted_issue_date_is_refused_at_issue(company, monkeypatch):
    draft = create(company, due_date=datetime.date(2026, 3, 1))
    fixed_now(monkeypatch, datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC))
    with pytest.raises(RuleViolation) as e:
        invoice_issue(document=draft)
    assert set(e.value.details) == {"dueDate"}
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.issue_date) == (DocumentStatus.DRAFT, None, None)


def test_client_snapshot_is_frozen_at_issue(company):
    client = factories.client(company, name="Acme SRL", city="Sector 3")
    draft = create(company, client)
    client_update(client=client, name="Acme Nou SRL")  # before issue: the document takes the new data
    issued = invoice_issue(document=draft)
    assert issued.client_snapshot["name"] == "Acme Nou SRL"
    client_update(client=client, name="Acme Altul SRL", city="sectorul 1", cui="18547290")
    issued.refresh_from_db()
    assert issued.client_snapshot == {
        "type": "company",
        "name": "Acme Nou SRL",
        "cui": "14399840",
        "vat_code": "RO14399840",
        "registration_number": "",
        "is_vat_payer": True,
        "address": "Bd. Unirii 1",
        "city": "Sector 3",
        "county": "RO-B",
        "country": "RO",
        "postal_code": "",
        "email": "contabilitate@client.ro",
        "phone": "",
    }
    client.refresh_from_db()
    assert (client.name, client.city, client.cui) == ("Acme Altul SRL", "Sector 1", "18547290")


def test_issue_twice_is_invalid_state(company):
    invoice = create(company, issue=True)
    with pytest.raises(InvalidState):
        invoice_issue(document=invoice)


# --- payments ------------------------------------------------------------------------------------------


def test_payments_move_invoice_to_partially_paid_then_paid(company):
    invoice = create(company, issue=True)  # 121.00
    first = payment_record(document=invoice, amount=D("21.00"), date=FEB_18, method=PaymentMethod.CASH, reference="C1")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.outstanding) == ("partially_paid", D("21.00"), D("100.00"))
    assert (first.amount, first.date, first.method, first.reference) == (D("21.00"), FEB_18, "cash", "C1")
    with pytest.raises(RuleViolation) as e:
        payment_record(document=invoice, amount=D("100.01"))
    assert set(e.value.details) == {"amount"}
    second = payment_record(document=invoice, amount=D("100.00"))
    assert second.date == timezone.localdate()
    assert second.method == "bank_transfer"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.outstanding, invoice.balance) == (
        "paid",
        D("121.00"),
        D("0.00"),
        D("0.00"),
    )
    assert Payment.objects.filter(document=invoice).count() == 2


def test_payment_of_the_whole_amount_pays_at_once(company):
    invoice = create(company, issue=True)
    payment_record(document=invoice, amount=D("121.00"))
    invoice.refresh_from_db()
    assert invoice.status == DocumentStatus.PAID


def test_payment_on_a_paid_invoice_is_invalid_state(company):
    invoice = create(company, issue=True)
    factories.pay(invoice, "121.00")
    with pytest.raises(InvalidState):
        payment_record(document=invoice, amount=D("0.01"))


def test_payment_on_a_draft_is_invalid_state(company):
    draft = create(company)
    with pytest.raises(InvalidState):
        payment_record(document=draft, amount=D("10.00"))
    assert not Payment.objects.exists()


def test_payment_on_a_credit_note_is_a_violation(company):
    invoice = create(company, issue=True)
    note = factories.credit(invoice)
    with pytest.raises(RuleViolation) as e:
        payment_record(document=note, amount=D("10.00"))
    assert set(e.value.details) == {"amount"}


@pytest.mark.parametrize("amount", [D("0"), D("-5.00")])
def test_payment_amount_must_be_positive(company, amount):
    invoice = create(company, issue=True)
    with pytest.raises(RuleViolation) as e:
        payment_record(document=invoice, amount=amount)
    assert set(e.value.details) == {"amount"}


def test_payment_above_outstanding_is_a_violation(company):
    invoice = create(company, issue=True)
    with pytest.raises(RuleViolation) as e:
        payment_record(document=invoice, amount=D("121.01"))
    assert set(e.value.details) == {"amount"}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (DocumentStatus.ISSUED, D("0.00"))
