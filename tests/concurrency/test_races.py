"""Races between real threads, each with its own PostgreSQL connection (DESIGN.md "Concurrency").

Every scenario starts its threads at a barrier, collects each thread's value or exception, and
asserts after joining. A thread that raises anything but the rule errors a losing racer is meant
to get (RuleViolation, InvalidState) — an IntegrityError, a DeadlockDetected, a lock timeout —
fails the test with its traceback.
"""

import itertools
import threading
from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum

from config.errors import InvalidState, RuleViolation
from creditnotes.models import CreditApplication
from creditnotes.services import (
    credit_note_apply,
    credit_note_create,
    credit_note_issue,
    credit_note_void,
    invoice_credit,
    remaining_of,
)
from invoices.models import Document, DocumentStatus, Payment
from invoices.services import invoice_issue, payment_record, today_in_romania
from numbering.models import Series, SeriesKind
from tests import factories
from tests.concurrency.conftest import (
    JOIN_TIMEOUT,
    blocked_by,
    join_all,
    run_before,
    run_concurrently,
    split,
    start_threads,
    wait_until,
)

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

D = Decimal


def standalone_note(company, client, amount: str) -> Document:
    """An issued standalone note crediting `amount` gross at 21% (its total is exactly −amount)."""
    return credit_note_create(
        company=company, client_id=client.uuid, amount=D(amount), vat_rate=D("21"), reason="Goodwill", issue=True
    )


def invoice_of(company, client, net: str, quantity: str = "1") -> Document:
    return factories.invoice(company, client_=client, lines=[factories.line(quantity=quantity, unit_price=net)])


def applications_to(invoice: Document) -> Decimal:
    return CreditApplication.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or D("0.00")


def payments_to(invoice: Document) -> Decimal:
    return Payment.objects.filter(document=invoice).aggregate(s=Sum("amount"))["s"] or D("0.00")


# --- 1. numbering ----------------------------------------------------------------------------------


def test_concurrent_issues_get_consecutive_numbers(company):
    issue_date = today_in_romania()
    client = factories.client(company)
    drafts = [factories.invoice(company, client_=client, issue=False, issue_date=issue_date) for _ in range(48)]
    series = Series.objects.get(company=company, kind=SeriesKind.INVOICE, is_default=True)

    def issue(pk):
        draft = Document.objects.get(pk=pk)
        return lambda: invoice_issue(document=draft).number

    successes, failures = split(run_concurrently([partial(issue, draft.pk) for draft in drafts]))

    expected = [f"FAC-{issue_date.year}-{n:04d}" for n in range(1, 49)]
    assert not failures
    assert sorted(o.value for o in successes) == expected
    stored = Document.objects.filter(pk__in=[d.pk for d in drafts])
    assert sorted(stored.values_list("number", flat=True)) == expected
    assert set(stored.values_list("status", flat=True)) == {DocumentStatus.ISSUED}
    series.refresh_from_db()
    assert (series.next_number, series.year) == (49, issue_date.year)


# --- 2. crediting one unit at a time ---------------------------------------------------------------


def test_concurrent_unit_credits_never_over_credit_and_sum_to_the_invoice(company):
    # 10 × 33.33 at 21%: net 333.30, VAT 69.99 (69.993), total 403.29; one unit is 33.33 + 7.00 (6.9993),
    # so ten per-unit notes would come to 403.30: the last note must take the exact remainder.
    invoice = invoice_of(company, factories.client(company), net="33.33", quantity="10")
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (D("333.30"), D("69.99"), D("403.29"))
    assert 10 * (D("33.33") + D("7.00")) != invoice.total  # per-unit rounding would drift
    line_uuid = invoice.lines.get().uuid

    def credit_one_unit():
        parent = Document.objects.get(pk=invoice.pk)
        return lambda: invoice_credit(
            invoice=parent, lines=[{"parent_line_id": line_uuid, "quantity": D("1")}], issue=True, auto_apply=False
        )

    successes, failures = split(run_concurrently([credit_one_unit for _ in range(20)]))

    assert len(successes) == 10, [o.error for o in failures]
    assert len(failures) == 10
    assert all(isinstance(o.error, RuleViolation) for o in failures)
    notes = Document.objects.filter(parent_document=invoice, is_credit_note=True)
    assert notes.count() == 10  # the losers left nothing behind, not even a draft
    assert set(notes.values_list("status", flat=True)) == {DocumentStatus.ISSUED}
    sums = notes.aggregate(subtotal=Sum("subtotal"), vat=Sum("vat_total"), total=Sum("total"))
    assert (sums["subtotal"], sums["vat"], sums["total"]) == (-invoice.subtotal, -invoice.vat_total, -invoice.total)
    totals = sorted(notes.values_list("total", flat=True))
    assert totals == [D("-40.33")] * 9 + [D("-40.32")]
    year = today_in_romania().year
    assert sorted(notes.values_list("number", flat=True)) == [f"CN-{year}-{n:04d}" for n in range(1, 11)]
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (D("0.00"), DocumentStatus.ISSUED)  # auto_apply=False
    _, remaining = remaining_of(invoice)
    assert remaining.total == 0 and remaining.lines[invoice.lines.get().pk].quantity == 0


# --- 3. many notes applied to one invoice ----------------------------------------------------------


def test_concurrent_applies_to_one_invoice_stop_at_its_outstanding(company):
    client = factories.client(company)
    notes = [standalone_note(company, client, "200") for _ in range(3)]  # primary keys below the invoice's
    invoice = invoice_of(company, client, net="1000.00")
    assert invoice.total == D("1210.00")
    notes += [standalone_note(company, client, "250") for _ in range(3)]  # keys above it
    for _ in range(4):  # notes of other invoices of the same client, with more than 200 of credit
        other = invoice_of(company, client, net="1000.00")
        notes.append(factories.credit(other, amount=D("300")))
    assert all(note.remaining_credit >= D("200") for note in notes)

    def apply_200(note_pk):
        note = Document.objects.get(pk=note_pk)
        return lambda: credit_note_apply(document=note, invoice_id=invoice.uuid, amount=D("200"))

    successes, failures = split(run_concurrently([partial(apply_200, note.pk) for note in notes]))

    assert len(successes) == 6, [o.error for o in failures]
    assert len(failures) == 4 and all(isinstance(o.error, RuleViolation) for o in failures)
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (D("1200.00"), DocumentStatus.PARTIALLY_PAID)
    assert applications_to(invoice) == D("1200.00")
    assert CreditApplication.objects.filter(invoice=invoice).count() == 6
    winners = {o.value.credit_note_id for o in successes}
    for note in Document.objects.filter(pk__in=[n.pk for n in notes]):
        assert note.applied_amount == (D("200.00") if note.pk in winners else D("0.00"))


# --- 4. one note applied to many invoices ----------------------------------------------------------


def test_one_note_applied_concurrently_to_many_invoices_stops_at_its_credit(company):
    client = factories.client(company)
    note = standalone_note(company, client, "300")
    invoices = [invoice_of(company, client, net="100.00") for _ in range(6)]
    assert {i.total for i in invoices} == {D("121.00")}

    def apply_default(invoice_pk):
        invoice = Document.objects.get(pk=invoice_pk)
        mine = Document.objects.get(pk=note.pk)
        return lambda: credit_note_apply(document=mine, invoice_id=invoice.uuid)

    successes, failures = split(run_concurrently([partial(apply_default, i.pk) for i in invoices]))

    assert sorted(o.value.amount for o in successes) == [D("58.00"), D("121.00"), D("121.00")]
    assert len(failures) == 3 and all(isinstance(o.error, InvalidState) for o in failures)
    note.refresh_from_db()
    assert (note.applied_amount, note.status) == (D("300.00"), DocumentStatus.APPLIED)
    assert CreditApplication.objects.filter(credit_note=note).aggregate(s=Sum("amount"))["s"] == D("300.00")
    stored = Document.objects.filter(pk__in=[i.pk for i in invoices])
    paid = sorted(stored.values_list("amount_paid", flat=True))
    assert paid == [D("0.00")] * 3 + [D("58.00"), D("121.00"), D("121.00")]
    for invoice in stored:
        assert invoice.amount_paid == applications_to(invoice)


# --- 5a. a deterministic race between two drafts of the same invoice (saleor RunBefore) -----------


@pytest.fixture
def two_drafts_over_the_cap(company):
    """An invoice of 1,210 (10 × 100 at 21%) and two drafts of 726 (six units) and 600 (by amount):
    each fits alone, together they would credit 1,326."""
    invoice = invoice_of(company, factories.client(company), net="100.00", quantity="10")
    by_lines = factories.credit(
        invoice, issue=False, lines=[{"parent_line_id": invoice.lines.get().uuid, "quantity": D("6")}]
    )
    by_amount = factories.credit(invoice, issue=False, amount=D("600"))
    assert (invoice.total, by_lines.total, by_amount.total) == (D("1210.00"), D("-726.00"), D("-600.00"))
    return invoice, by_lines, by_amount


def issue_note(pk):
    note = Document.objects.get(pk=pk)
    return lambda: credit_note_issue(document=note)


def assert_never_over_credited(invoice: Document, winner: Document, loser: Document) -> None:
    issued = Document.objects.filter(parent_document=invoice).exclude(status=DocumentStatus.DRAFT)
    assert list(issued.values_list("pk", flat=True)) == [winner.pk]
    assert -issued.aggregate(s=Sum("total"))["s"] <= invoice.total
    loser.refresh_from_db()
    assert (loser.status, loser.number) == (DocumentStatus.DRAFT, None)
    _, remaining = remaining_of(invoice)
    assert remaining.total >= 0 and all(left.quantity >= 0 for left in remaining.lines.values())


def test_second_issue_waits_for_the_first_and_then_fails(two_drafts_over_the_cap):
    """Thread A stops while holding the invoice's lock, just before its final cap check; thread B
    starts issuing the other draft and is seen blocked behind A; then A finishes. B must see A's
    note once it gets the lock, and fail."""
    invoice, first, second = two_drafts_over_the_cap
    a_holds_the_lock, b_is_blocked = threading.Event(), threading.Event()

    def pause_under_lock():
        a_holds_the_lock.set()
        if not b_is_blocked.wait(JOIN_TIMEOUT):
            raise RuntimeError("the competing issue never queued behind this one")

    with run_before("creditnotes.services._recompute_under_lock", pause_under_lock):
        a_threads, (a,) = start_threads([partial(issue_note, first.pk)], barrier=False)
        b_threads, b_waited = [], False
        try:
            wait_until(a_holds_the_lock.is_set, what="thread A to hold the invoice's lock")
            b_threads, (b,) = start_threads([partial(issue_note, second.pk)], barrier=False)
            wait_until(
                lambda: (
                    not b_threads[0].is_alive()
                    or (b.backend_pid is not None and a.backend_pid in blocked_by(b.backend_pid))
                ),
                what="thread B to wait on thread A's lock",
            )
            b_waited = b_threads[0].is_alive()
        finally:
            b_is_blocked.set()  # release A whatever happened, so no thread outlives the test
            join_all(a_threads + b_threads)

    assert b_waited, f"B finished without waiting for A's lock: {b.error or b.value!r}"
    (success,), (failure,) = split([a, b])
    assert success is a and isinstance(failure.error, RuleViolation)
    assert_never_over_credited(invoice, first, second)


def test_issue_that_loses_the_race_before_locking_fails(two_drafts_over_the_cap):
    """Thread A loaded its draft; just before A locks, thread B issues the other draft and commits.
    A must not trust what it read before the lock."""
    invoice, first, second = two_drafts_over_the_cap
    competitor = []

    def issue_the_other_draft_first():
        threads, outcomes = start_threads([partial(issue_note, second.pk)], barrier=False)
        join_all(threads)
        competitor.extend(outcomes)

    with run_before("creditnotes.services.lock_documents", issue_the_other_draft_first):
        threads, outcomes = start_threads([partial(issue_note, first.pk)], barrier=False)
        join_all(threads)

    (success,), (failure,) = split([*competitor, *outcomes])
    assert success is competitor[0] and isinstance(failure.error, RuleViolation)
    assert_never_over_credited(invoice, second, first)


# --- 5b. apply vs void vs payment: no deadlock, and a serial outcome --------------------------------

PAYMENT = D("1000.00")  # with a 300 note and a 1,210 invoice, payment and full apply cannot both fit
OPEN_NOTE = (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_APPLIED)


def serial_outcome(order: tuple[str, ...], *, total: Decimal, credit: Decimal):
    """What apply (default amount), void and a payment of 1,000 give when run one after another in `order`."""
    paid, applied, note_status, results = D("0.00"), D("0.00"), DocumentStatus.ISSUED, {}
    for op in order:
        invoice_open = paid < total
        if op == "apply":
            if note_status not in OPEN_NOTE:
                results[op] = InvalidState
            elif not invoice_open:
                results[op] = RuleViolation
            else:
                amount = min(credit - applied, total - paid)
                applied, paid = applied + amount, paid + amount
                note_status = DocumentStatus.APPLIED if applied == credit else DocumentStatus.PARTIALLY_APPLIED
                results[op] = amount
        elif op == "void":
            if note_status not in OPEN_NOTE:
                results[op] = InvalidState
            else:
                note_status, results[op] = DocumentStatus.VOIDED, "ok"
        else:
            if not invoice_open:
                results[op] = InvalidState
            elif PAYMENT > total - paid:
                results[op] = RuleViolation
            else:
                paid, results[op] = paid + PAYMENT, "ok"
    invoice_status = (
        DocumentStatus.ISSUED if paid == 0 else DocumentStatus.PAID if paid == total else DocumentStatus.PARTIALLY_PAID
    )
    return results, (paid, applied, note_status, invoice_status)


def older_standalone(company, client):
    note = standalone_note(company, client, "300")
    return invoice_of(company, client, net="1000.00"), note


def newer_standalone(company, client):
    invoice = invoice_of(company, client, net="1000.00")
    return invoice, standalone_note(company, client, "300")


def note_of_the_invoice(company, client):
    """Void locks (note, invoice), as apply does."""
    invoice = invoice_of(company, client, net="1000.00")
    return invoice, factories.credit(invoice, amount=D("300"))


def note_of_another_invoice(company, client):
    """Void locks (note, other), apply (note, invoice), the payment (invoice)."""
    other = invoice_of(company, client, net="1000.00")
    invoice = invoice_of(company, client, net="1000.00")
    return invoice, factories.credit(other, amount=D("300"))


ROUNDS = 5  # per shape: 20 races of three threads in all


@pytest.mark.parametrize("shape", [older_standalone, newer_standalone, note_of_the_invoice, note_of_another_invoice])
def test_apply_void_and_payment_never_deadlock(company, shape):
    """Thread A applies the note to the invoice while B voids the note and C pays the invoice."""
    client = factories.client(company)
    serial_orders = list(itertools.permutations(("apply", "void", "pay")))
    for round_ in range(ROUNDS):
        invoice, note = shape(company, client)
        assert (invoice.total, note.remaining_credit) == (D("1210.00"), D("300.00"))

        def apply(note=note, invoice=invoice):
            mine = Document.objects.get(pk=note.pk)
            return lambda: credit_note_apply(document=mine, invoice_id=invoice.uuid).amount

        def void(note=note):
            mine = Document.objects.get(pk=note.pk)
            return lambda: credit_note_void(document=mine) and "ok"

        def pay(invoice=invoice):
            target = Document.objects.get(pk=invoice.pk)
            return lambda: payment_record(document=target, amount=PAYMENT) and "ok"

        outcomes = run_concurrently([apply, void, pay])
        split(outcomes)  # a DeadlockDetected (an OperationalError) or an IntegrityError fails here
        results = {
            op: (o.value if o.ok else type(o.error)) for op, o in zip(("apply", "void", "pay"), outcomes, strict=True)
        }
        invoice.refresh_from_db()
        note.refresh_from_db()
        observed = (results, (invoice.amount_paid, note.applied_amount, note.status, invoice.status))
        serial = {order: serial_outcome(order, total=invoice.total, credit=-note.total) for order in serial_orders}
        assert observed in serial.values(), f"round {round_}: {observed} matches no serial order: {serial}"
        assert invoice.amount_paid == payments_to(invoice) + applications_to(invoice) <= invoice.total
        assert note.applied_amount == (
            CreditApplication.objects.filter(credit_note=note).aggregate(s=Sum("amount"))["s"] or D("0.00")
        )


# --- 5. the list tally ------------------------------------------------------------------------------


def test_creates_issues_and_deletes_racing_keep_the_tally_exact_and_never_deadlock(company):
    """Creating drafts, creating-and-issuing (tally row, then series lock), issuing existing drafts (series
    lock only) and deleting drafts (tally row only) all at once: no lock cycle, and the tally equals a count."""
    from invoices.models import DocumentTally
    from invoices.services import draft_delete

    client = factories.client(company)
    drafts = [factories.invoice(company, client_=client, issue=False) for _ in range(8)]

    def create(issue: bool):
        return lambda: factories.invoice(company, client_=client, issue=issue).pk

    def issue_existing(pk):
        draft = Document.objects.get(pk=pk)
        return lambda: invoice_issue(document=draft).pk

    def delete(pk):
        draft = Document.objects.get(pk=pk)
        return lambda: draft_delete(document=draft)

    prepares = [lambda: create(issue=False) for _ in range(4)] + [lambda: create(issue=True) for _ in range(4)]
    prepares += [partial(issue_existing, draft.pk) for draft in drafts[:4]]
    prepares += [partial(delete, draft.pk) for draft in drafts[4:]]
    successes, failures = split(run_concurrently(prepares))
    assert not failures and len(successes) == 16
    live = Document.objects.filter(company=company, deleted_at__isnull=True).count()
    assert live == 8 + 8 - 4
    assert sum(DocumentTally.objects.filter(company=company).values_list("live", flat=True)) == live
