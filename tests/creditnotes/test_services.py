"""Credit-note services: crediting an invoice (full, by line, by amount), standalone notes, preview,
the caps and their final check at issue, auto-apply, apply, refund, void, stats and creditedTotal."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from config.errors import InvalidState, RuleViolation
from creditnotes.models import CreditApplication, Refund
from creditnotes.selectors import applications_of, credit_note_stats
from creditnotes.services import (
    credit_note_apply,
    credit_note_create,
    credit_note_issue,
    credit_note_preview,
    credit_note_refund,
    credit_note_update,
    credit_note_void,
    invoice_credit,
    invoice_creditable,
)
from invoices.models import Document, DocumentLine, DocumentStatus, PaymentMethod
from invoices.selectors import document_reload
from invoices.services import client_update, draft_delete
from numbering.models import Series, SeriesKind
from tests import factories

D = Decimal
FEB_18 = datetime.date(2026, 2, 18)
FEB_20 = datetime.date(2026, 2, 20)


# --- local helpers -------------------------------------------------------------------------------------


def line(**kw):
    return factories.line(**kw)


def issued_invoice(company, client, lines=None, **values):
    """Issued on 18 Feb 2026 unless told otherwise; the default line is 1 × 100.00 at 21% (121.00)."""
    values.setdefault("issue_date", FEB_18)
    return factories.invoice(company, client_=client, lines=lines or [line()], **values)


def by_lines(*pairs):
    return [{"parent_line_id": parent_line.uuid, "quantity": D(quantity)} for parent_line, quantity in pairs]


def lines_of(document):
    return list(document.lines.all())


def reload(document):
    document.refresh_from_db()
    return document


def figures(document):
    return document.subtotal, document.vat_total, document.total


def standalone(company, client, amount="121.00", rate="21", *, issue=True, **values):
    """A standalone note by gross amount: 121.00 at 21% is net 100.00 + VAT 21.00."""
    values.setdefault("reason", "Goodwill")
    return credit_note_create(
        company=company, client_id=client.uuid, amount=D(amount), vat_rate=D(rate), issue=issue, **values
    )


def credited_total(invoice):
    return document_reload(invoice).credited_total


def remaining_total(invoice):
    return invoice_creditable(invoice=invoice)[1].total


@pytest.fixture
def client(company):
    return factories.client(company, name="Acme SRL")


# --- crediting an invoice in full ------------------------------------------------------------------------


def test_full_credit_negates_the_invoice(company, client):
    invoice = issued_invoice(
        company,
        client,
        lines=[
            line(
                description="Ore consultanță", quantity="3", unit_price="100.00", vat_rate="21", unit_of_measure="HUR"
            ),
            line(description="Cărți", quantity="2", unit_price="45.50", vat_rate="9"),
        ],
    )
    assert figures(invoice) == (D("391.00"), D("71.19"), D("462.19"))
    note = factories.credit(invoice, issue_date=FEB_20)
    assert figures(note) == (D("-391.00"), D("-71.19"), D("-462.19"))
    assert (note.is_credit_note, note.status, note.number, note.invoice_type_code) == (
        True,
        DocumentStatus.ISSUED,
        "CN-2026-0001",
        "381",
    )
    assert (note.parent_document, note.client, note.currency, note.exchange_rate) == (
        invoice,
        client,
        "RON",
        D("1.000000"),
    )
    assert (note.reason, note.issue_date, note.due_date) == ("Returned goods", FEB_20, FEB_20)
    assert (note.remaining_credit, note.balance, note.applied_amount, note.refunded_amount) == (
        D("462.19"),
        D("-462.19"),
        D("0.00"),
        D("0.00"),
    )
    assert note.vat_breakdown == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "-300.00", "vatAmount": "-63.00"},
        {"vatRate": "9.00", "vatCategory": "S", "taxableAmount": "-91.00", "vatAmount": "-8.19"},
    ]
    parent_lines = lines_of(invoice)
    rows = [
        (
            ln.description,
            ln.quantity,
            ln.unit_price,
            ln.unit_of_measure,
            ln.net_amount,
            ln.vat_amount,
            ln.line_total,
            ln.parent_line_id,
        )
        for ln in lines_of(note)
    ]
    assert rows == [
        (
            "Ore consultanță",
            D("-3.0000"),
            D("100.00"),
            "HUR",
            D("-300.00"),
            D("-63.00"),
            D("-363.00"),
            parent_lines[0].pk,
        ),
        ("Cărți", D("-2.0000"), D("45.50"), "H87", D("-91.00"), D("-8.19"), D("-99.19"), parent_lines[1].pk),
    ]
    reload(invoice)
    assert (invoice.status, invoice.amount_paid) == (DocumentStatus.ISSUED, D("0.00"))  # autoApply false


def test_full_credit_of_an_invoice_with_a_negative_line_negates_it(company, client):
    """Invoices may carry a negative line (a discount) as long as their total stays positive; a full
    credit of such an untouched invoice still has exactly the negated totals."""
    invoice = issued_invoice(
        company,
        client,
        lines=[
            line(description="Servicii", quantity="2", unit_price="100.00"),
            line(description="Reducere", quantity="-1", unit_price="50.00"),
        ],
    )
    assert figures(invoice) == (D("150.00"), D("31.50"), D("181.50"))
    note = factories.credit(invoice)
    assert figures(note) == (D("-150.00"), D("-31.50"), D("-181.50"))


def test_nothing_left_after_a_full_credit(company, client):
    invoice = issued_invoice(company, client)
    factories.credit(invoice)
    assert remaining_total(invoice) == D("0.00")
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice)
    assert set(e.value.details) == {"lines"}


def test_invoice_credit_default_reason_names_the_invoice(company, client):
    invoice = issued_invoice(company, client)
    note = invoice_credit(invoice=invoice, auto_apply=False)
    assert note.reason == "Storno of invoice FAC-2026-0001"
    assert (note.status, note.number, note.auto_apply) == (DocumentStatus.DRAFT, None, False)


# --- by line -----------------------------------------------------------------------------------------------


def test_credit_by_line(company, client):
    invoice = issued_invoice(
        company, client, lines=[line(quantity="3"), line(quantity="1", unit_price="50.00", vat_rate="9")]
    )
    first, second = lines_of(invoice)
    note = factories.credit(invoice, lines=by_lines((first, "1")))
    assert figures(note) == (D("-100.00"), D("-21.00"), D("-121.00"))
    (only,) = lines_of(note)
    assert (only.quantity, only.unit_price, only.parent_line_id) == (D("-1.0000"), D("100.00"), first.pk)
    _, remaining = invoice_creditable(invoice=invoice)
    assert remaining.lines[first.pk].quantity == D("2.0000")
    assert remaining.lines[second.pk].quantity == D("1.0000")
    assert remaining.total == D("363.00") + D("54.50") - D("121.00")


def test_sign_of_a_credited_quantity_is_ignored(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])
    note = factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "-2")))
    assert figures(note) == (D("-200.00"), D("-42.00"), D("-242.00"))
    assert lines_of(note)[0].quantity == D("-2.0000")


def test_partial_credits_share_the_discount_and_the_last_takes_the_exact_remainder(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3", unit_price="100.00", discount=D("30.00"))])
    assert figures(invoice) == (D("270.00"), D("56.70"), D("326.70"))
    parent_line = lines_of(invoice)[0]
    first = factories.credit(invoice, lines=by_lines((parent_line, "1")))
    (l1,) = lines_of(first)
    assert (l1.discount, l1.net_amount, l1.vat_amount) == (D("10.00"), D("-90.00"), D("-18.90"))
    last = factories.credit(invoice, lines=by_lines((parent_line, "2")))
    (l2,) = lines_of(last)
    assert (l2.discount, l2.net_amount, l2.vat_amount) == (D("20.00"), D("-180.00"), D("-37.80"))
    assert first.total + last.total == -invoice.total


def test_line_of_another_invoice_is_a_violation(company, client):
    invoice = issued_invoice(company, client)
    other = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((lines_of(other)[0], "1")))
    assert set(e.value.details) == {"lines[0].parentLineId"}


def test_same_line_twice_is_a_violation(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])
    parent_line = lines_of(invoice)[0]
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((parent_line, "1"), (parent_line, "1")))
    assert set(e.value.details) == {"lines[1].parentLineId"}


def test_lines_and_amount_together_is_a_violation(company, client):
    invoice = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "1")), amount=D("10.00"))
    assert set(e.value.details) == {"amount"}


# --- caps --------------------------------------------------------------------------------------------------


def test_per_line_cap(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3"), line(quantity="1")])
    first, second = lines_of(invoice)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((first, "4")))
    assert e.value.details == {"lines[0].quantity": ["Cannot credit more than 3 remaining units."]}
    factories.credit(invoice, lines=by_lines((first, "2")))
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((second, "1"), (first, "1.5")))
    assert e.value.details == {"lines[1].quantity": ["Cannot credit more than 1 remaining units."]}


def test_drafts_do_not_count_against_the_cap(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])
    parent_line = lines_of(invoice)[0]
    factories.credit(invoice, lines=by_lines((parent_line, "3")), issue=False)
    assert remaining_total(invoice) == D("363.00")
    assert factories.credit(invoice, lines=by_lines((parent_line, "3"))).total == D("-363.00")


def test_total_cap_after_a_credit_by_amount(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])  # 363.00
    factories.credit(invoice, amount=D("300.00"))
    assert remaining_total(invoice) == D("63.00")
    # The amount credit took no quantity, but the line no longer fits in what is left in total.
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "1")))
    assert set(e.value.details) == {"lines"}
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, amount=D("63.01"))
    assert set(e.value.details) == {"amount"}


def test_full_credit_after_a_credit_by_amount_takes_the_rest_of_the_rate(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])  # 300.00 + 63.00
    by_amount = factories.credit(invoice, amount=D("300.00"))
    assert figures(by_amount) == (D("-247.93"), D("-52.07"), D("-300.00"))
    rest = factories.credit(invoice)
    assert figures(rest) == (D("-52.07"), D("-10.93"), D("-63.00"))
    assert by_amount.subtotal + rest.subtotal == -invoice.subtotal
    assert by_amount.vat_total + rest.vat_total == -invoice.vat_total
    assert remaining_total(invoice) == D("0.00")


# --- the final cap at issue ------------------------------------------------------------------------------------


def test_two_drafts_that_fit_alone_but_not_together(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])
    parent_line = lines_of(invoice)[0]
    first = factories.credit(invoice, lines=by_lines((parent_line, "2")), issue=False)
    second = factories.credit(invoice, lines=by_lines((parent_line, "2")), issue=False)
    credit_note_issue(document=first)
    with pytest.raises(RuleViolation) as e:
        credit_note_issue(document=second)
    assert e.value.details == {"lines[0].quantity": ["Cannot credit more than 1 remaining units."]}
    reload(second)
    assert (second.status, second.number, second.total) == (DocumentStatus.DRAFT, None, D("-242.00"))
    assert Series.objects.get(company=company, kind=SeriesKind.CREDIT_NOTE).next_number == 2
    assert credited_total(invoice) == D("-242.00")


def test_two_amount_drafts_that_fit_alone_but_not_together(company, client):
    invoice = issued_invoice(company, client)  # 121.00
    first = factories.credit(invoice, amount=D("80.00"), issue=False)
    second = factories.credit(invoice, amount=D("80.00"), issue=False)
    credit_note_issue(document=first)
    with pytest.raises(RuleViolation) as e:
        credit_note_issue(document=second)
    assert set(e.value.details) == {"amount"}
    assert reload(second).status == DocumentStatus.DRAFT


def test_a_draft_rederived_at_issue_takes_the_exact_remainder(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3", unit_price="0.12")])
    assert figures(invoice) == (D("0.36"), D("0.08"), D("0.44"))
    parent_line = lines_of(invoice)[0]
    first = factories.credit(invoice, lines=by_lines((parent_line, "1")))
    draft = factories.credit(invoice, lines=by_lines((parent_line, "1")), issue=False)
    assert figures(draft) == (D("-0.12"), D("-0.03"), D("-0.15"))  # a partial credit when drafted
    third = factories.credit(invoice, lines=by_lines((parent_line, "1")))
    assert figures(first) == figures(third) == (D("-0.12"), D("-0.03"), D("-0.15"))
    issued = credit_note_issue(document=draft)
    reload(issued)
    assert figures(issued) == (D("-0.12"), D("-0.02"), D("-0.14"))  # now the last: the exact remainder
    (only,) = lines_of(issued)
    assert (only.quantity, only.net_amount, only.vat_amount, only.line_total) == (
        D("-1.0000"),
        D("-0.12"),
        D("-0.02"),
        D("-0.14"),
    )
    assert issued.vat_breakdown == [
        {"vatRate": "21.00", "vatCategory": "S", "taxableAmount": "-0.12", "vatAmount": "-0.02"}
    ]
    assert first.total + third.total + issued.total == -invoice.total
    assert first.vat_total + third.vat_total + issued.vat_total == -invoice.vat_total


def test_note_dated_before_its_invoice_is_refused(company, client):
    invoice = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, issue_date=datetime.date(2026, 2, 17))
    assert set(e.value.details) == {"issueDate"}


def test_note_defaulting_to_a_date_before_its_invoice_is_refused_at_issue(company, client, monkeypatch):
    invoice = issued_invoice(company, client)
    draft = factories.credit(invoice, issue=False)
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 2, 10, 9, 0, tzinfo=datetime.UTC))
    with pytest.raises(RuleViolation) as e:
        credit_note_issue(document=draft)
    assert set(e.value.details) == {"issueDate"}
    assert reload(draft).status == DocumentStatus.DRAFT


# --- by amount -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, rate, net, vat",
    [
        ("100.00", "21", "82.64", "17.36"),
        ("50.00", "21", "41.32", "8.68"),
        ("10.00", "9", "9.17", "0.83"),
        ("33.33", "19", "28.01", "5.32"),
        ("0.05", "21", "0.04", "0.01"),
        ("0.01", "21", "0.01", "0.00"),
        ("99.99", "5", "95.23", "4.76"),
    ],
)
def test_credit_by_amount(company, client, amount, rate, net, vat):
    invoice = issued_invoice(company, client, lines=[line(quantity="10", unit_price="100.00", vat_rate=rate)])
    note = factories.credit(invoice, amount=D(amount))
    assert figures(note) == (-D(net), -D(vat), -D(amount))
    (only,) = lines_of(note)
    assert (only.quantity, only.unit_price, only.unit_of_measure, only.parent_line_id) == (
        D("-1.0000"),
        D(net),
        "C62",
        None,
    )
    assert only.description == f"Credit on {invoice.number} at {D(rate):.2f}% VAT"
    # Credit by amount takes no quantity from any line.
    assert invoice_creditable(invoice=invoice)[1].lines[lines_of(invoice)[0].pk].quantity == D("10.0000")


def test_credit_by_amount_needs_the_rate_when_the_invoice_has_several(company, client):
    invoice = issued_invoice(company, client, lines=[line(vat_rate="21"), line(unit_price="50.00", vat_rate="9")])
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, amount=D("10.00"))
    assert set(e.value.details) == {"vatRate"}
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, amount=D("10.00"), vat_rate=D("5"))
    assert set(e.value.details) == {"vatRate"}
    note = factories.credit(invoice, amount=D("10.00"), vat_rate=D("9"))
    assert figures(note) == (D("-9.17"), D("-0.83"), D("-10.00"))
    assert note.vat_breakdown == [
        {"vatRate": "9.00", "vatCategory": "S", "taxableAmount": "-9.17", "vatAmount": "-0.83"}
    ]


def test_credit_by_amount_is_capped_at_the_rate(company, client):
    invoice = issued_invoice(company, client, lines=[line(vat_rate="21"), line(unit_price="50.00", vat_rate="9")])
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, amount=D("54.51"), vat_rate=D("9"))
    assert set(e.value.details) == {"amount"}
    assert factories.credit(invoice, amount=D("54.50"), vat_rate=D("9")).total == D("-54.50")


# --- parent rules -------------------------------------------------------------------------------------------


def test_reason_is_required(company, client):
    invoice = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent=invoice, reason="  ")
    assert set(e.value.details) == {"reason"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, client_id=client.uuid, amount=D("10"), vat_rate=D("21"))
    assert set(e.value.details) == {"reason"}


def test_draft_parent_is_a_violation(company, client):
    draft = factories.invoice(company, client_=client, issue=False)
    with pytest.raises(RuleViolation) as e:
        factories.credit(draft)
    assert set(e.value.details) == {"parentDocumentId"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent_id=draft.uuid, reason="x")
    assert set(e.value.details) == {"parentDocumentId"}


def test_credit_note_as_parent_is_a_violation(company, client):
    note = factories.credit(issued_invoice(company, client))
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent_id=note.uuid, reason="x")
    assert set(e.value.details) == {"parentDocumentId"}


def test_incoming_invoice_as_parent_is_a_violation(company, client):
    invoice = issued_invoice(company, client)
    Document.objects.filter(pk=invoice.pk).update(direction="incoming")
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent_id=invoice.uuid, reason="x")
    assert set(e.value.details) == {"parentDocumentId"}


def test_unknown_deleted_or_foreign_parent_is_a_violation(company, client, other_company):
    deleted = factories.invoice(company, client_=client, issue=False)
    draft_delete(document=deleted)
    foreign = factories.invoice(other_company)
    for parent_id in (uuid.uuid4(), deleted.uuid, foreign.uuid):
        with pytest.raises(RuleViolation) as e:
            credit_note_create(company=company, parent_id=parent_id, reason="x")
        assert set(e.value.details) == {"parentDocumentId"}


def test_parent_issued_partially_paid_or_paid_can_be_credited(company, client):
    partially = issued_invoice(company, client)
    factories.pay(partially, "1.00")
    paid = issued_invoice(company, client)
    factories.pay(paid, "121.00")
    assert factories.credit(reload(partially)).total == D("-121.00")
    assert factories.credit(reload(paid)).total == D("-121.00")


def test_client_and_currency_are_the_parents(company, client):
    invoice = issued_invoice(company, client)
    other = factories.client(company, name="Beta SRL")
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent=invoice, client_id=other.uuid, reason="x")
    assert set(e.value.details) == {"clientId"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent=invoice, currency="EUR", reason="x")
    assert set(e.value.details) == {"currency"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent=invoice, client_id=other.uuid, currency="EUR", reason="x")
    assert set(e.value.details) == {"clientId", "currency"}
    note = credit_note_create(company=company, parent=invoice, client_id=client.uuid, currency="RON", reason="x")
    assert (note.client, note.currency) == (client, "RON")


def test_violations_with_a_parent_are_collected_across_fields(company, client):
    """A missing reason must not hide the other problems of the request (every violation, not the first)."""
    invoice = issued_invoice(company, client)
    other = factories.client(company, name="Beta SRL")
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, parent=invoice, client_id=other.uuid, currency="EUR", reason="")
    assert set(e.value.details) == {"clientId", "currency", "reason"}


def test_note_inherits_the_parents_exchange_rate_unless_given(company, client):
    invoice = issued_invoice(company, client, currency="EUR", exchange_rate=D("4.9750"))
    inherited = factories.credit(invoice, amount=D("10.00"))
    assert (inherited.currency, inherited.exchange_rate) == ("EUR", D("4.975000"))
    given = factories.credit(invoice, amount=D("10.00"), exchange_rate=D("5.0125"))
    assert (reload(given).currency, given.exchange_rate) == ("EUR", D("5.012500"))


def test_ron_parent_refuses_another_exchange_rate(company, client):
    invoice = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, exchange_rate=D("4.97"))
    assert set(e.value.details) == {"exchangeRate"}


def test_credit_note_series_of_the_wrong_kind_is_a_violation(company, client):
    invoice = issued_invoice(company, client)
    invoice_series = Series.objects.get(company=company, kind=SeriesKind.INVOICE)
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, series_id=invoice_series.uuid)
    assert set(e.value.details) == {"seriesId"}


def test_note_takes_its_client_snapshot_at_its_own_issue(company, client):
    invoice = issued_invoice(company, client)
    client_update(client=client, name="Acme Nou SRL")
    note = factories.credit(invoice)
    assert (reload(invoice).client_snapshot["name"], note.client_snapshot["name"]) == ("Acme SRL", "Acme Nou SRL")


# --- standalone notes ------------------------------------------------------------------------------------


def test_standalone_note_needs_a_client(company):
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, reason="Goodwill", lines=[line()])
    assert set(e.value.details) == {"clientId"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, client_id=uuid.uuid4(), reason="Goodwill", lines=[line()])
    assert set(e.value.details) == {"clientId"}


def test_standalone_note_with_lines(company, client):
    note = factories.standalone_note(company, client_=client, lines=[line(quantity="-2", unit_price="50.00")])
    assert figures(note) == (D("-100.00"), D("-21.00"), D("-121.00"))
    assert (note.parent_document, note.client, note.status, note.number) == (None, client, "issued", note.number)
    (only,) = lines_of(note)
    assert (only.quantity, only.unit_price, only.vat_category, only.parent_line_id) == (
        D("-2.0000"),
        D("50.00"),
        "S",
        None,
    )


def test_standalone_note_by_amount(company, client):
    note = standalone(company, client, amount="100.00", rate="21")
    assert figures(note) == (D("-82.64"), D("-17.36"), D("-100.00"))
    (only,) = lines_of(note)
    assert (only.quantity, only.unit_price, only.description) == (D("-1.0000"), D("82.64"), "Goodwill")


def test_standalone_note_needs_lines_or_amount_and_rate(company, client):
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, client_id=client.uuid, reason="x")
    assert set(e.value.details) == {"lines"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(company=company, client_id=client.uuid, reason="x", amount=D("10.00"))
    assert set(e.value.details) == {"vatRate"}
    with pytest.raises(RuleViolation) as e:
        credit_note_create(
            company=company, client_id=client.uuid, reason="x", amount=D("10"), vat_rate=D("21"), lines=[line()]
        )
    assert set(e.value.details) == {"amount"}
    with pytest.raises(RuleViolation) as e:
        standalone(company, client, amount="0", rate="21")
    assert set(e.value.details) == {"amount"}


def test_standalone_amount_at_zero_percent_names_its_category(company, client):
    with pytest.raises(RuleViolation) as e:
        standalone(company, client, amount="10", rate="0")
    assert set(e.value.details) == {"amount.vatCategory"}
    with pytest.raises(RuleViolation) as e:
        standalone(company, client, amount="10", rate="0", vat_category="E")
    assert set(e.value.details) == {"amount.vatExemptionReason"}
    note = standalone(company, client, amount="10", rate="0", vat_category="E", vat_exemption_reason="art. 292")
    assert figures(note) == (D("-10.00"), D("0.00"), D("-10.00"))


def test_standalone_note_currency_rules(company, client):
    with pytest.raises(RuleViolation) as e:
        standalone(company, client, currency="EUR")
    assert set(e.value.details) == {"exchangeRate"}
    note = standalone(company, client, currency="EUR", exchange_rate=D("4.97"))
    assert (note.currency, reload(note).exchange_rate) == ("EUR", D("4.970000"))


def test_standalone_lines_follow_the_line_rules(company, client):
    with pytest.raises(RuleViolation) as e:
        factories.standalone_note(company, client_=client, lines=[line(quantity="0"), line(vat_rate="0")])
    assert set(e.value.details) == {"lines[0].quantity", "lines[1].vatCategory"}


# --- preview ----------------------------------------------------------------------------------------------


def counts():
    return (
        Document.objects.count(),
        DocumentLine.objects.count(),
        CreditApplication.objects.count(),
        Refund.objects.count(),
    )


def test_preview_saves_nothing_and_matches_create(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3", discount=D("30.00")), line(vat_rate="9")])
    first, second = lines_of(invoice)
    body = {"parent_id": invoice.uuid, "reason": "Retur", "lines": by_lines((first, "2"), (second, "1"))}
    before = counts()
    preview = credit_note_preview(company=company, load=document_reload, issue=True, auto_apply=True, **body)
    assert counts() == before
    assert Series.objects.get(company=company, kind=SeriesKind.CREDIT_NOTE).next_number == 1
    assert (preview.status, preview.number) == (DocumentStatus.DRAFT, None)
    # 21%: 2 of 3 units less 2/3 of the 30.00 discount = 180.00 net, VAT 37.80; 9%: the whole line, 100.00 + 9.00.
    assert figures(preview) == (D("-280.00"), D("-46.80"), D("-326.80"))
    created = credit_note_create(company=company, **body)
    assert figures(created) == figures(preview)
    assert created.vat_breakdown == preview.vat_breakdown
    assert [(ln.quantity, ln.discount, ln.net_amount, ln.vat_amount, ln.line_total) for ln in lines_of(created)] == [
        (ln.quantity, ln.discount, ln.net_amount, ln.vat_amount, ln.line_total) for ln in preview.lines.all()
    ]
    reload(invoice)
    assert (invoice.status, invoice.amount_paid) == (DocumentStatus.ISSUED, D("0.00"))


def test_preview_of_a_full_credit_and_of_a_standalone_note(company, client):
    invoice = issued_invoice(company, client)
    before = counts()
    full = credit_note_preview(company=company, load=document_reload, parent_id=invoice.uuid, reason="x")
    by_amount = credit_note_preview(
        company=company, load=document_reload, client_id=client.uuid, reason="x", amount=D("100.00"), vat_rate=D("21")
    )
    assert counts() == before
    assert figures(full) == (D("-100.00"), D("-21.00"), D("-121.00"))
    assert figures(by_amount) == (D("-82.64"), D("-17.36"), D("-100.00"))


def test_preview_reports_violations_and_saves_nothing(company, client):
    invoice = issued_invoice(company, client)
    before = counts()
    with pytest.raises(RuleViolation) as e:
        credit_note_preview(
            company=company,
            load=document_reload,
            parent_id=invoice.uuid,
            reason="x",
            lines=by_lines((lines_of(invoice)[0], "2")),
        )
    assert set(e.value.details) == {"lines[0].quantity"}
    assert counts() == before


# --- only drafts change -------------------------------------------------------------------------------------


def test_issued_note_cannot_be_edited_deleted_or_issued_again(company, client):
    note = factories.credit(issued_invoice(company, client), amount=D("10.00"))
    with pytest.raises(InvalidState):
        credit_note_update(document=note, changes={"reason": "y"})
    with pytest.raises(InvalidState):
        draft_delete(document=note)
    with pytest.raises(InvalidState):
        credit_note_issue(document=note)
    assert reload(note).reason == "Returned goods"


def test_draft_note_can_be_edited_and_deleted(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3")])
    draft = factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "1")), issue=False)
    updated = credit_note_update(
        document=draft, changes={"lines": by_lines((lines_of(invoice)[0], "2")), "reason": "R"}
    )
    assert (figures(updated), updated.reason) == ((D("-200.00"), D("-42.00"), D("-242.00")), "R")
    draft_delete(document=draft)
    assert reload(draft).deleted_at is not None


def test_patching_a_standalone_amount_draft_keeps_its_figures(company, client):
    """A credit by amount has VAT = amount − net (100.00 → 82.64 + 17.36); a PATCH of an unrelated
    field must not re-price it as a line (82.64 × 21% = 17.35) and change its total."""
    draft = standalone(company, client, amount="100.00", issue=False)
    assert figures(draft) == (D("-82.64"), D("-17.36"), D("-100.00"))
    patched = credit_note_update(document=draft, changes={"notes": "Cu scuze"})
    assert patched.notes == "Cu scuze"
    assert figures(reload(patched)) == (D("-82.64"), D("-17.36"), D("-100.00"))


def test_patching_a_parent_draft_keeps_its_figures(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="3", unit_price="0.12")])
    by_amount = factories.credit(invoice, amount=D("0.20"), issue=False)
    by_line = factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "1")), issue=False)
    assert figures(by_amount) == (D("-0.17"), D("-0.03"), D("-0.20"))
    assert figures(by_line) == (D("-0.12"), D("-0.03"), D("-0.15"))
    for draft in (by_amount, by_line):
        before = figures(reload(draft))
        credit_note_update(document=draft, changes={"notes": "x"})
        assert figures(reload(draft)) == before


# --- autoApply on issue ----------------------------------------------------------------------------------


def test_auto_apply_applies_the_note_to_its_parent(company, client):
    invoice = issued_invoice(company, client)  # 121.00
    note = factories.credit(invoice, amount=D("50.00"), auto_apply=True)
    assert figures(note) == (D("-41.32"), D("-8.68"), D("-50.00"))
    assert (note.status, note.applied_amount, note.remaining_credit) == (DocumentStatus.APPLIED, D("50.00"), D("0.00"))
    reload(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.outstanding) == (
        DocumentStatus.PARTIALLY_PAID,
        D("50.00"),
        D("71.00"),
    )
    (application,) = applications_of(note)
    assert (application.invoice, application.amount) == (invoice, D("50.00"))


def test_auto_apply_of_a_full_credit_pays_the_invoice(company, client):
    invoice = issued_invoice(company, client)
    note = factories.credit(invoice, auto_apply=True)
    assert (reload(note).status, note.applied_amount) == (DocumentStatus.APPLIED, D("121.00"))
    assert (reload(invoice).status, invoice.amount_paid) == (DocumentStatus.PAID, D("121.00"))


def test_auto_apply_takes_only_the_outstanding_balance(company, client):
    invoice = issued_invoice(company, client)
    factories.pay(invoice, "100.00")
    note = factories.credit(reload(invoice), auto_apply=True)
    reload(note)
    assert (note.status, note.applied_amount, note.remaining_credit) == (
        DocumentStatus.PARTIALLY_APPLIED,
        D("21.00"),
        D("100.00"),
    )
    assert (reload(invoice).status, invoice.amount_paid) == (DocumentStatus.PAID, D("121.00"))


def test_auto_apply_on_a_paid_parent_applies_nothing(company, client):
    invoice = issued_invoice(company, client)
    factories.pay(invoice, "121.00")
    note = factories.credit(reload(invoice), auto_apply=True)
    assert (reload(note).status, note.applied_amount, note.remaining_credit) == (
        DocumentStatus.ISSUED,
        D("0.00"),
        D("121.00"),
    )
    assert not CreditApplication.objects.exists()


def test_without_auto_apply_the_parents_balance_is_left_alone(company, client):
    invoice = issued_invoice(company, client)
    note = factories.credit(invoice, auto_apply=False)
    assert (reload(note).status, note.remaining_credit) == (DocumentStatus.ISSUED, D("121.00"))
    assert (reload(invoice).status, invoice.amount_paid, invoice.outstanding) == (
        DocumentStatus.ISSUED,
        D("0.00"),
        D("121.00"),
    )
    assert not CreditApplication.objects.exists()


def test_auto_apply_defaults_to_true_and_is_kept_on_the_draft(company, client):
    invoice = issued_invoice(company, client)
    draft = invoice_credit(invoice=invoice, amount=D("21.00"))
    assert reload(draft).auto_apply is True
    credit_note_issue(document=draft)
    assert (reload(draft).status, reload(invoice).amount_paid) == (DocumentStatus.APPLIED, D("21.00"))


def test_auto_apply_given_at_issue_overrides_the_draft(company, client):
    invoice = issued_invoice(company, client)
    keep = invoice_credit(invoice=invoice, amount=D("10.00"), auto_apply=True)
    credit_note_issue(document=keep, auto_apply=False)
    assert (reload(keep).status, reload(invoice).amount_paid) == (DocumentStatus.ISSUED, D("0.00"))
    apply = invoice_credit(invoice=invoice, amount=D("10.00"), auto_apply=False)
    credit_note_issue(document=apply, auto_apply=True)
    assert (reload(apply).status, reload(invoice).amount_paid) == (DocumentStatus.APPLIED, D("10.00"))


def test_standalone_note_auto_applies_to_nothing(company, client):
    issued_invoice(company, client)
    note = standalone(company, client, auto_apply=True)
    assert (note.status, note.applied_amount) == (DocumentStatus.ISSUED, D("0.00"))


# --- apply ------------------------------------------------------------------------------------------------


def test_apply_defaults_to_the_remaining_credit(company, client):
    invoice = issued_invoice(company, client)  # 121.00
    note = standalone(company, client, amount="100.00")
    application = credit_note_apply(document=note, invoice_id=invoice.uuid)
    assert application.amount == D("100.00")
    assert (reload(note).status, note.applied_amount, note.remaining_credit, note.balance) == (
        DocumentStatus.APPLIED,
        D("100.00"),
        D("0.00"),
        D("0.00"),
    )
    assert (reload(invoice).status, invoice.amount_paid, invoice.outstanding) == (
        DocumentStatus.PARTIALLY_PAID,
        D("100.00"),
        D("21.00"),
    )


def test_apply_defaults_to_the_invoice_outstanding(company, client):
    invoice = issued_invoice(company, client, lines=[line(unit_price="50.00")])  # 60.50
    note = standalone(company, client)  # 121.00
    assert credit_note_apply(document=note, invoice_id=invoice.uuid).amount == D("60.50")
    assert (reload(note).status, note.remaining_credit) == (DocumentStatus.PARTIALLY_APPLIED, D("60.50"))
    assert (reload(invoice).status, invoice.amount_paid) == (DocumentStatus.PAID, D("60.50"))


def test_apply_across_several_invoices(company, client):
    small = issued_invoice(company, client, lines=[line(unit_price="50.00")])  # 60.50
    large = issued_invoice(company, client)  # 121.00
    note = standalone(company, client)  # 121.00
    credit_note_apply(document=note, invoice_id=small.uuid)
    credit_note_apply(document=note, invoice_id=large.uuid, amount=D("20.00"))
    assert (reload(note).status, note.remaining_credit) == (DocumentStatus.PARTIALLY_APPLIED, D("40.50"))
    assert (reload(large).status, large.amount_paid) == (DocumentStatus.PARTIALLY_PAID, D("20.00"))
    credit_note_apply(document=note, invoice_id=large.uuid)
    assert (reload(note).status, note.applied_amount, note.remaining_credit) == (
        DocumentStatus.APPLIED,
        D("121.00"),
        D("0.00"),
    )
    assert (reload(small).status, small.amount_paid) == (DocumentStatus.PAID, D("60.50"))
    assert (reload(large).status, large.amount_paid, large.outstanding) == (
        DocumentStatus.PARTIALLY_PAID,
        D("60.50"),
        D("60.50"),
    )
    assert [(a.invoice_id, a.amount) for a in applications_of(note)] == [
        (small.pk, D("60.50")),
        (large.pk, D("20.00")),
        (large.pk, D("40.50")),
    ]


def test_a_note_can_be_applied_to_its_parent_by_hand(company, client):
    invoice = issued_invoice(company, client)
    note = factories.credit(invoice, lines=by_lines((lines_of(invoice)[0], "1")))
    credit_note_apply(document=note, invoice_id=invoice.uuid, amount=D("50.00"))
    assert (reload(note).status, reload(invoice).status) == (
        DocumentStatus.PARTIALLY_APPLIED,
        DocumentStatus.PARTIALLY_PAID,
    )


def _assert_apply_violation(note, invoice_id, field, **kw):
    with pytest.raises(RuleViolation) as e:
        credit_note_apply(document=note, invoice_id=invoice_id, **kw)
    assert set(e.value.details) == {field}


def test_apply_target_rules(company, client, other_company):
    note = standalone(company, client)
    other_client = issued_invoice(company, factories.client(company, name="Beta SRL"))
    other_currency = issued_invoice(company, client, currency="EUR", exchange_rate=D("4.97"))
    draft = factories.invoice(company, client_=client, issue=False)
    paid = issued_invoice(company, client)
    factories.pay(paid, "121.00")
    another_note = standalone(company, client)
    foreign = factories.invoice(other_company)
    for target in (other_client, other_currency, draft, paid, another_note, foreign):
        _assert_apply_violation(note, target.uuid, "invoiceId")
    _assert_apply_violation(note, uuid.uuid4(), "invoiceId")
    assert not CreditApplication.objects.exists()
    assert (reload(note).status, note.remaining_credit) == (DocumentStatus.ISSUED, D("121.00"))


def test_apply_amount_bounds(company, client):
    big = issued_invoice(company, client, lines=[line(quantity="10")])  # 1210.00
    small = issued_invoice(company, client, lines=[line(unit_price="50.00")])  # 60.50
    note = standalone(company, client, amount="100.00")
    _assert_apply_violation(note, big.uuid, "amount", amount=D("100.01"))  # > remaining credit
    _assert_apply_violation(note, small.uuid, "amount", amount=D("60.51"))  # > outstanding
    _assert_apply_violation(note, big.uuid, "amount", amount=D("0.00"))
    _assert_apply_violation(note, big.uuid, "amount", amount=D("-1.00"))
    assert not CreditApplication.objects.exists()
    assert credit_note_apply(document=note, invoice_id=small.uuid, amount=D("60.50")).amount == D("60.50")


def test_apply_from_a_draft_voided_or_used_up_note_is_invalid_state(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="10")])
    draft = standalone(company, client, issue=False)
    voided = credit_note_void(document=standalone(company, client))
    applied = standalone(company, client, amount="10.00")
    credit_note_apply(document=applied, invoice_id=invoice.uuid)
    refunded = standalone(company, client, amount="10.00")
    credit_note_refund(document=refunded)
    for note in (draft, voided, applied, refunded):
        with pytest.raises(InvalidState):
            credit_note_apply(document=note, invoice_id=invoice.uuid, amount=D("1.00"))
    assert reload(invoice).amount_paid == D("10.00")


# --- refund ---------------------------------------------------------------------------------------------


def test_refund_defaults_to_the_remaining_credit(company, client):
    note = standalone(company, client)
    refund = credit_note_refund(document=note)
    assert (refund.amount, refund.method, refund.reference) == (D("121.00"), PaymentMethod.BANK_TRANSFER, "")
    assert (reload(note).status, note.refunded_amount, note.remaining_credit) == (
        DocumentStatus.APPLIED,
        D("121.00"),
        D("0.00"),
    )


def test_partial_refunds(company, client):
    note = standalone(company, client)
    refund = credit_note_refund(document=note, amount=D("21.00"), method=PaymentMethod.CASH, reference="R1")
    assert (refund.amount, refund.method, refund.reference) == (D("21.00"), "cash", "R1")
    assert (reload(note).status, note.remaining_credit) == (DocumentStatus.PARTIALLY_APPLIED, D("100.00"))
    with pytest.raises(RuleViolation) as e:
        credit_note_refund(document=note, amount=D("100.01"))
    assert set(e.value.details) == {"amount"}
    credit_note_refund(document=note, amount=D("100.00"))
    assert (reload(note).status, note.refunded_amount) == (DocumentStatus.APPLIED, D("121.00"))
    with pytest.raises(InvalidState):
        credit_note_refund(document=note, amount=D("0.01"))


def test_applied_and_refunded_together_use_up_a_note(company, client):
    invoice = issued_invoice(company, client, lines=[line(unit_price="50.00")])  # 60.50
    note = standalone(company, client)
    credit_note_apply(document=note, invoice_id=invoice.uuid)
    credit_note_refund(document=note)
    assert (reload(note).status, note.applied_amount, note.refunded_amount, note.remaining_credit) == (
        DocumentStatus.APPLIED,
        D("60.50"),
        D("60.50"),
        D("0.00"),
    )


@pytest.mark.parametrize("amount", [D("0.00"), D("-5.00")])
def test_refund_amount_must_be_positive(company, client, amount):
    note = standalone(company, client)
    with pytest.raises(RuleViolation) as e:
        credit_note_refund(document=note, amount=amount)
    assert set(e.value.details) == {"amount"}


def test_refund_of_a_draft_or_voided_note_is_invalid_state(company, client):
    draft = standalone(company, client, issue=False)
    voided = credit_note_void(document=standalone(company, client))
    for note in (draft, voided):
        with pytest.raises(InvalidState):
            credit_note_refund(document=note)
    assert not Refund.objects.exists()


def test_refund_of_an_invoice_is_a_violation(company, client):
    invoice = issued_invoice(company, client)
    with pytest.raises(RuleViolation) as e:
        credit_note_refund(document=invoice, amount=D("1.00"))
    assert set(e.value.details) == {"amount"}


# --- void ---------------------------------------------------------------------------------------------------


def test_void_a_draft(company, client):
    draft = standalone(company, client, issue=False)
    voided = credit_note_void(document=draft)
    assert (reload(voided).status, voided.number, voided.remaining_credit) == (DocumentStatus.VOIDED, None, D("0.00"))
    with pytest.raises(InvalidState):
        credit_note_void(document=voided)
    with pytest.raises(InvalidState):
        credit_note_issue(document=voided)
    with pytest.raises(InvalidState):
        credit_note_update(document=voided, changes={"reason": "x"})


def test_void_an_issued_note_keeps_its_number(company, client):
    note = standalone(company, client, issue_date=FEB_20)
    voided = credit_note_void(document=note)
    reload(voided)
    assert (voided.status, voided.number, voided.total) == (DocumentStatus.VOIDED, "CN-2026-0001", D("-121.00"))
    assert (voided.remaining_credit, voided.balance) == (D("0.00"), D("0.00"))
    with pytest.raises(InvalidState):
        credit_note_void(document=voided)


def test_void_a_partially_applied_note_keeps_its_applications(company, client):
    invoice = issued_invoice(company, client)
    note = standalone(company, client)
    credit_note_apply(document=note, invoice_id=invoice.uuid, amount=D("30.00"))
    credit_note_refund(document=note, amount=D("11.00"))
    voided = credit_note_void(document=note)
    reload(voided)
    assert (voided.status, voided.applied_amount, voided.refunded_amount, voided.remaining_credit) == (
        DocumentStatus.VOIDED,
        D("30.00"),
        D("11.00"),
        D("0.00"),
    )
    assert [a.amount for a in applications_of(voided)] == [D("30.00")]
    assert Refund.objects.filter(credit_note=voided).count() == 1
    assert (reload(invoice).status, invoice.amount_paid) == (DocumentStatus.PARTIALLY_PAID, D("30.00"))


def test_applied_note_cannot_be_voided(company, client):
    note = standalone(company, client)
    credit_note_refund(document=note)
    with pytest.raises(InvalidState):
        credit_note_void(document=note)
    assert reload(note).status == DocumentStatus.APPLIED


def _partially_applied_full_credit(company, client, applied="50.00"):
    invoice = issued_invoice(company, client)  # 121.00
    note = factories.credit(invoice)
    credit_note_apply(document=note, invoice_id=invoice.uuid, amount=D(applied))
    credit_note_void(document=note)
    return reload(invoice), reload(note)


def test_voided_note_counts_only_with_what_it_applied(company, client):
    invoice, voided = _partially_applied_full_credit(company, client)
    assert voided.status == DocumentStatus.VOIDED
    assert (invoice.status, invoice.amount_paid, invoice.outstanding) == (
        DocumentStatus.PARTIALLY_PAID,
        D("50.00"),
        D("71.00"),
    )
    assert remaining_total(invoice) == D("71.00")
    assert credited_total(invoice) == D("-50.00")
    with pytest.raises(RuleViolation) as e:
        factories.credit(invoice, amount=D("71.01"))
    assert set(e.value.details) == {"amount"}
    again = factories.credit(invoice, amount=D("71.00"), auto_apply=True)
    assert figures(again) == (D("-58.68"), D("-12.32"), D("-71.00"))
    assert (reload(invoice).status, invoice.amount_paid) == (DocumentStatus.PAID, D("121.00"))
    assert credited_total(invoice) == D("-121.00")
    assert remaining_total(invoice) == D("0.00")


def test_voided_note_counts_only_with_what_it_refunded(company, client):
    invoice = issued_invoice(company, client)
    note = factories.credit(invoice)
    credit_note_refund(document=note, amount=D("30.00"))
    credit_note_void(document=note)
    assert remaining_total(invoice) == D("91.00")
    assert credited_total(invoice) == D("-30.00")


def test_voided_unused_note_frees_the_whole_invoice(company, client):
    invoice = issued_invoice(company, client)
    credit_note_void(document=factories.credit(invoice))
    assert credited_total(invoice) == D("0.00")
    assert factories.credit(invoice).total == D("-121.00")


def test_full_credit_after_a_voided_note_credits_all_but_what_it_used(company, client):
    """No lines and no amount credits everything not yet credited: after voiding a note that applied
    50.00 of a 121.00 invoice, that is 71.00."""
    invoice, _ = _partially_applied_full_credit(company, client)
    rest = factories.credit(invoice)
    assert rest.total == D("-71.00")
    assert remaining_total(invoice) == D("0.00")


# --- stats and creditedTotal ---------------------------------------------------------------------------


def test_credit_note_stats(company, client, other_company):
    assert credit_note_stats(company=company) == {
        "total": 0,
        "draft": 0,
        "issued": 0,
        "partially_applied": 0,
        "applied": 0,
        "voided": 0,
        "outstanding_credit": {},
    }
    standalone(company, client, amount="10.00", issue=False)  # draft
    draft_delete(document=standalone(company, client, amount="10.00", issue=False))  # deleted: not counted
    standalone(company, client)  # issued, 121.00 left
    invoice = issued_invoice(company, client)
    partial = standalone(company, client, amount="60.50")
    credit_note_apply(document=partial, invoice_id=invoice.uuid, amount=D("20.00"))  # 40.50 left
    credit_note_refund(document=standalone(company, client, amount="10.00"))  # applied
    credit_note_void(document=standalone(company, client, amount="30.00"))  # voided
    standalone(company, client, amount="100.00", currency="EUR", exchange_rate=D("4.97"))  # issued, EUR
    standalone(other_company, factories.client(other_company))  # another company's
    credit_note_preview(
        company=company, load=document_reload, client_id=client.uuid, reason="x", amount=D("5.00"), vat_rate=D("21")
    )  # nothing saved
    assert credit_note_stats(company=company) == {
        "total": 6,
        "draft": 1,
        "issued": 2,
        "partially_applied": 1,
        "applied": 1,
        "voided": 1,
        "outstanding_credit": {"RON": D("161.50"), "EUR": D("100.00")},
    }


def test_credited_total_annotation(company, client):
    invoice = issued_invoice(company, client, lines=[line(quantity="2")])  # 242.00
    assert credited_total(invoice) == D("0.00")
    parent_line = lines_of(invoice)[0]
    first = factories.credit(invoice, lines=by_lines((parent_line, "1")))
    draft = factories.credit(invoice, lines=by_lines((parent_line, "1")), issue=False)
    assert credited_total(invoice) == D("-121.00")  # drafts do not count
    credit_note_apply(document=first, invoice_id=invoice.uuid, amount=D("50.00"))
    credit_note_void(document=first)
    assert credited_total(invoice) == D("-50.00")  # a voided note only with what it used
    credit_note_issue(document=draft)
    assert credited_total(invoice) == D("-171.00")
    other = issued_invoice(company, client)
    assert credited_total(other) == D("0.00")
