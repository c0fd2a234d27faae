"""The crediting arithmetic of creditnotes/crediting.py: what an invoice has left to credit, the figures
of a credit note, and the rule that the note exhausting a line or a rate takes its exact remainder.

Unit tests assert figures worked out by hand. The property tests credit random invoices in random
parts and check that nothing is ever over-credited and that the parts sum to the invoice to the cent;
the last of them does the same through the real services against PostgreSQL.
"""

from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config.errors import RuleViolation
from creditnotes.crediting import (
    ByAmount,
    ByLine,
    CreditedLine,
    CreditFigures,
    ParentLine,
    PriorNote,
    Remaining,
    credit_figures,
    full_credit_items,
    remaining_creditable,
)
from creditnotes.services import invoice_creditable
from invoices.calculations import (
    LineFigures,
    VatGroup,
    breakdown_from_json,
    breakdown_to_json,
    price_line,
    summarize,
    tax_key,
)
from invoices.models import Document, DocumentLine, DocumentStatus
from tests import factories

D = Decimal
ZERO = D("0.00")


# --- an invoice and its credit notes, without the database ---


def category_of(rate) -> str:
    return "S" if D(rate) > 0 else "Z"


@dataclass
class Ledger:
    """An issued invoice and the notes issued against it, kept the way the services keep them."""

    parent_lines: list[ParentLine]
    breakdown: tuple[VatGroup, ...]
    total: Decimal
    notes: list[PriorNote] = field(default_factory=list)

    def remaining(self) -> Remaining:
        return remaining_creditable(
            parent_lines=self.parent_lines,
            parent_breakdown=self.breakdown,
            parent_total=self.total,
            prior_notes=self.notes,
        )

    def credit(self, *items) -> CreditFigures:
        return credit_figures(parent_lines=self.parent_lines, remaining=self.remaining(), items=list(items))

    def full_credit(self) -> CreditFigures:
        items = full_credit_items(parent_lines=self.parent_lines, remaining=self.remaining())
        return credit_figures(parent_lines=self.parent_lines, remaining=self.remaining(), items=items)

    def issue(self, figures: CreditFigures) -> CreditFigures:
        assert not figures.violations.details, figures.violations.details
        self.notes.append(prior_note(figures))
        return figures

    def void(self, *, applied_and_refunded: Decimal) -> None:
        self.notes.append(PriorNote(live=False, consumed_total=applied_and_refunded))


def prior_note(figures: CreditFigures) -> PriorNote:
    """What creditnotes.services._prior_notes reads back from a stored, issued note: its lines with a
    parent line (amount lines have none) and its stored JSON breakdown, in magnitudes."""
    return PriorNote(
        live=True,
        consumed_total=-figures.totals.total,
        lines=tuple(
            CreditedLine(
                parent_line_id=line.item.parent_line_id,
                quantity=-line.quantity,
                net=-line.figures.net,
                vat=-line.figures.vat,
                discount=line.discount,
            )
            for line in figures.lines
            if isinstance(line.item, ByLine)
        ),
        breakdown=tuple(
            VatGroup(vat_rate=g.vat_rate, vat_category=g.vat_category, taxable=-g.taxable, vat=-g.vat)
            for g in breakdown_from_json(breakdown_to_json(figures.totals.breakdown))
        ),
    )


def ledger(*specs) -> Ledger:
    """specs: (quantity, unit_price, rate[, discount[, category]]) as strings; line ids 1, 2, …"""
    lines = []
    for line_id, (quantity, unit_price, rate, *rest) in enumerate(specs, start=1):
        discount = D(rest[0]) if rest else ZERO
        category = rest[1] if len(rest) > 1 else category_of(rate)
        figures = price_line(
            quantity=D(quantity), unit_price=D(unit_price), discount=discount, vat_rate=D(rate), vat_category=category
        )
        lines.append(
            ParentLine(
                id=line_id,
                quantity=D(quantity),
                unit_price=D(unit_price),
                discount=discount,
                vat_rate=D(rate),
                vat_category=category,
                net=figures.net,
                vat=figures.vat,
            )
        )
    return ledger_of(lines)


def ledger_of(lines: list[ParentLine]) -> Ledger:
    totals = summarize(
        [
            LineFigures(vat_rate=line.vat_rate, vat_category=line.vat_category, net=line.net, vat=line.vat)
            for line in lines
        ]
    )
    return Ledger(
        parent_lines=lines, breakdown=breakdown_from_json(breakdown_to_json(totals.breakdown)), total=totals.total
    )


def figures_of(figures: CreditFigures) -> tuple[Decimal, Decimal, Decimal]:
    totals = figures.totals
    return totals.subtotal, totals.vat_total, totals.total


def groups_of(breakdown) -> list[tuple]:
    return [(g.vat_rate, g.vat_category, g.taxable, g.vat) for g in breakdown]


def remaining_lines(remaining: Remaining) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    return {line_id: (left.quantity, left.net, left.vat) for line_id, left in remaining.lines.items()}


def remaining_groups(remaining: Remaining) -> dict[tuple, tuple[Decimal, Decimal]]:
    return {key: (group.taxable, group.vat) for key, group in remaining.groups.items()}


K21, K19, K11 = (D("21.00"), "S"), (D("19.00"), "S"), (D("11.00"), "S")


def two_rate_invoice() -> Ledger:
    """3 × 10.02 at 21 % (net 30.06, VAT 6.3126 → 6.31) and 2 × 50.00 at 11 % (100.00, 11.00): total 147.37."""
    book = ledger(("3", "10.02", "21"), ("2", "50.00", "11"))
    assert book.total == D("147.37")
    return book


def amount_invoice() -> Ledger:
    """1 × 100.00 at 21 % and 1 × 50.00 at 11 %: 121.00 + 55.50 = 176.50."""
    book = ledger(("1", "100.00", "21"), ("1", "50.00", "11"))
    assert book.total == D("176.50")
    return book


# --- remaining_creditable ---


def test_remaining_of_an_untouched_invoice_is_the_invoice():
    remaining = two_rate_invoice().remaining()
    assert remaining.total == D("147.37")
    assert remaining_lines(remaining) == {1: (D("3"), D("30.06"), D("6.31")), 2: (D("2"), D("100.00"), D("11.00"))}
    assert remaining_groups(remaining) == {K21: (D("30.06"), D("6.31")), K11: (D("100.00"), D("11.00"))}


def test_remaining_with_a_live_and_a_voided_note():
    book = two_rate_invoice()
    assert figures_of(book.issue(book.credit(ByLine(1, D("1"))))) == (D("-10.02"), D("-2.10"), D("-12.12"))
    # A voided note that had credited all of line 2 but applied 30.00 and refunded 5.00 of it: it still
    # consumes those 35.00 of the total, and nothing of any line or rate.
    book.notes.append(
        PriorNote(
            live=False,
            consumed_total=D("35.00"),
            lines=(CreditedLine(parent_line_id=2, quantity=D("2"), net=D("100.00"), vat=D("11.00")),),
            breakdown=(VatGroup(vat_rate=D("11.00"), vat_category="S", taxable=D("100.00"), vat=D("11.00")),),
        )
    )
    remaining = book.remaining()
    assert remaining.total == D("100.25")  # 147.37 − 12.12 − 35.00
    assert remaining_lines(remaining) == {1: (D("2"), D("20.04"), D("4.21")), 2: (D("2"), D("100.00"), D("11.00"))}
    assert remaining_groups(remaining) == {K21: (D("20.04"), D("4.21")), K11: (D("100.00"), D("11.00"))}


def test_a_voided_note_that_used_nothing_consumes_nothing():
    book = two_rate_invoice()
    book.void(applied_and_refunded=ZERO)
    remaining = book.remaining()
    assert remaining.total == D("147.37")
    assert remaining_groups(remaining) == {K21: (D("30.06"), D("6.31")), K11: (D("100.00"), D("11.00"))}


# --- credit_figures by line ---


def test_credit_by_line_figures():
    figures = two_rate_invoice().credit(ByLine(1, D("1")), ByLine(2, D("0.5")))
    assert not figures.violations
    assert [
        (line.quantity, line.unit_price, line.discount, line.figures.net, line.figures.vat) for line in figures.lines
    ] == [
        (D("-1"), D("10.02"), D("0.00"), D("-10.02"), D("-2.10")),
        (D("-0.5"), D("50.00"), D("0.00"), D("-25.00"), D("-2.75")),
    ]
    assert groups_of(figures.totals.breakdown) == [
        (D("21.00"), "S", D("-10.02"), D("-2.10")),
        (D("11.00"), "S", D("-25.00"), D("-2.75")),
    ]
    assert figures_of(figures) == (D("-35.02"), D("-4.85"), D("-39.87"))


@pytest.mark.parametrize(
    ("items", "details"),
    [
        pytest.param(
            [ByLine(1, D("4"))],
            {"lines[0].quantity": ["Cannot credit more than 3 remaining units."]},
            id="over-the-quantity",
        ),
        pytest.param(
            [ByLine(2, D("1")), ByLine(1, D("3.0001"))],
            {"lines[1].quantity": ["Cannot credit more than 3 remaining units."]},
            id="keyed-by-index",
        ),
        pytest.param(
            [ByLine(99, D("1"))], {"lines[0].parentLineId": ["Not a line of the credited invoice."]}, id="unknown-line"
        ),
        pytest.param(
            [ByLine(1, D("1")), ByLine(1, D("1"))],
            {"lines[1].parentLineId": ["This line is credited twice in the request."]},
            id="same-line-twice",
        ),
        pytest.param(
            [ByLine(1, D("0"))], {"lines[0].quantity": ["The quantity to credit must not be zero."]}, id="zero-quantity"
        ),
        pytest.param([], {"lines": ["Nothing is left to credit on this invoice."]}, id="nothing"),
        pytest.param(
            [ByLine(99, D("1")), ByLine(1, D("0")), ByLine(2, D("5"))],
            {
                "lines[0].parentLineId": ["Not a line of the credited invoice."],
                "lines[1].quantity": ["The quantity to credit must not be zero."],
                "lines[2].quantity": ["Cannot credit more than 2 remaining units."],
            },
            id="every-violation-collected",
        ),
    ],
)
def test_credit_by_line_violations(items, details):
    figures = two_rate_invoice().credit(*items)
    assert figures.violations.details == details


def test_the_quantity_cap_counts_what_issued_notes_credited():
    book = two_rate_invoice()
    book.issue(book.credit(ByLine(1, D("0.75"))))
    assert book.credit(ByLine(1, D("2.2501"))).violations.details == {
        "lines[0].quantity": ["Cannot credit more than 2.25 remaining units."]
    }
    assert not book.credit(ByLine(1, D("2.25"))).violations


def test_the_quantity_cap_message_writes_whole_numbers_plainly():
    book = ledger(("10", "1.00", "21"))
    assert book.credit(ByLine(1, D("11"))).violations.details == {
        "lines[0].quantity": ["Cannot credit more than 10 remaining units."]
    }
    book.issue(book.credit(ByLine(1, D("10"))))
    assert book.credit(ByLine(1, D("1"))).violations.details == {
        "lines[0].quantity": ["Cannot credit more than 0 remaining units."]
    }


# --- several partial credits of a line sum exactly to the line and to the invoice ---


@pytest.mark.parametrize(
    ("unit_price", "rate", "invoice", "notes"),
    [
        pytest.param(
            "10.02",
            "21",
            ("30.06", "6.31", "36.37"),  # 30.06 × 21% = 6.3126; one unit: 2.1042 → 2.10
            [("10.02", "2.10", "12.12"), ("10.02", "2.10", "12.12"), ("10.02", "2.11", "12.13")],
            id="10.02@21-naive-would-lose-a-cent",
        ),
        pytest.param(
            "33.33",
            "19",
            ("99.99", "19.00", "118.99"),  # 18.9981 → 19.00; one unit: 6.3327 → 6.33
            [("33.33", "6.33", "39.66"), ("33.33", "6.33", "39.66"), ("33.33", "6.34", "39.67")],
            id="33.33@19-naive-would-lose-a-cent",
        ),
        pytest.param(
            "33.33",
            "21",
            ("99.99", "21.00", "120.99"),  # 20.9979 → 21.00; one unit: 6.9993 → 7.00
            [("33.33", "7.00", "40.33")] * 3,
            id="33.33@21",
        ),
    ],
)
def test_three_credits_of_one_unit_sum_to_the_line_and_the_invoice(unit_price, rate, invoice, notes):
    book = ledger(("3", unit_price, rate))
    assert (book.parent_lines[0].net, book.parent_lines[0].vat, book.total) == tuple(D(x) for x in invoice)
    credited = []
    for expected in notes:
        figures = book.issue(book.credit(ByLine(1, D("1"))))
        assert figures_of(figures) == tuple(-D(x) for x in expected)
        credited.append(figures)
    assert sum((f.totals.total for f in credited), ZERO) == -D(invoice[2])
    assert sum((f.lines[0].figures.net for f in credited), ZERO) == -D(invoice[0])
    assert sum((f.lines[0].figures.vat for f in credited), ZERO) == -D(invoice[1])
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_lines(remaining) == {1: (ZERO, ZERO, ZERO)}
    assert remaining_groups(remaining) == {tax_key(D(rate), "S"): (ZERO, ZERO)}


def test_partial_credits_of_a_line_beside_another_line_at_the_same_rate():
    # 3 × 10.02 (line VAT 6.31) and 1 × 0.12 (line VAT 0.03) at 21%: group 30.18, VAT 6.3378 → 6.34, total 36.52.
    book = ledger(("3", "10.02", "21"), ("1", "0.12", "21"))
    assert book.total == D("36.52")
    first, second, third = (book.issue(book.credit(ByLine(1, D("1")))) for _ in range(3))
    assert figures_of(first) == figures_of(second) == (D("-10.02"), D("-2.10"), D("-12.12"))
    # The third exhausts line 1 (its line VAT is the line's remainder, 2.11) but not the rate, whose VAT
    # stays rate × net = 2.10; the last note at the rate takes the rate's exact remaining VAT, 0.04.
    assert (third.lines[0].figures.net, third.lines[0].figures.vat) == (D("-10.02"), D("-2.11"))
    assert figures_of(third) == (D("-10.02"), D("-2.10"), D("-12.12"))
    last = book.issue(book.credit(ByLine(2, D("1"))))
    assert figures_of(last) == (D("-0.12"), D("-0.04"), D("-0.16"))
    assert sum((f.totals.total for f in (first, second, third, last)), ZERO) == D("-36.52")
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_lines(remaining) == {1: (ZERO, ZERO, ZERO), 2: (ZERO, ZERO, ZERO)}
    assert remaining_groups(remaining) == {K21: (ZERO, ZERO)}


def test_partial_credits_of_a_discounted_line_sum_to_the_line():
    # 3 × 10.00 − 1.00 = 29.00 at 21% (VAT 6.09): total 35.09. Each unit takes its cumulative share of the net:
    # round(29 × 1/3) = 9.67, round(29 × 2/3) − 9.67 = 19.33 − 9.67 = 9.66, the last the remainder 29 − 19.33 = 9.67.
    # VAT: 2.03 (9.67 × 21% = 2.0307), 2.03 (2.0286), and the rate's remainder 6.09 − 4.06 = 2.03.
    book = ledger(("3", "10.00", "21", "1.00"))
    assert book.total == D("35.09")
    notes = [book.issue(book.credit(ByLine(1, D("1")))) for _ in range(3)]
    assert [figures_of(n) for n in notes] == [
        (D("-9.67"), D("-2.03"), D("-11.70")),
        (D("-9.66"), D("-2.03"), D("-11.69")),
        (D("-9.67"), D("-2.03"), D("-11.70")),
    ]
    assert sum((n.totals.total for n in notes), ZERO) == D("-35.09")
    assert book.remaining().total == ZERO


def test_the_discounts_of_a_lines_partial_credits_sum_to_its_discount():
    # Cumulative shares of the 1.00 discount: round(1/3) = 0.33, round(2/3) − 0.33 = 0.34, and the remaining 0.33;
    # each note's line then reads qty × price − discount = net (10 − 0.33 = 9.67, 10 − 0.34 = 9.66, 10 − 0.33 = 9.67).
    book = ledger(("3", "10.00", "21", "1.00"))
    notes = [book.issue(book.credit(ByLine(1, D("1")))) for _ in range(3)]
    assert [n.lines[0].discount for n in notes] == [D("0.33"), D("0.34"), D("0.33")]
    for note in notes:
        line = note.lines[0]
        assert -line.quantity * line.unit_price - line.discount == -line.figures.net


# --- credit_figures by amount ---


def test_credit_by_amount_splits_the_gross_at_the_rate():
    book = amount_invoice()
    figures = book.issue(book.credit(ByAmount(D("21.00"), "S", D("100.00"))))
    assert [
        (line.quantity, line.unit_price, line.discount, line.figures.net, line.figures.vat) for line in figures.lines
    ] == [(D("-1"), D("82.64"), D("0.00"), D("-82.64"), D("-17.36"))]
    assert groups_of(figures.totals.breakdown) == [(D("21.00"), "S", D("-82.64"), D("-17.36"))]
    assert figures_of(figures) == (D("-82.64"), D("-17.36"), D("-100.00"))
    remaining = book.remaining()
    # It lowers the total and the rate, not any line's quantity.
    assert remaining.total == D("76.50")
    assert remaining_groups(remaining) == {K21: (D("17.36"), D("3.64")), K11: (D("50.00"), D("5.50"))}
    assert remaining_lines(remaining) == {1: (D("1"), D("100.00"), D("21.00")), 2: (D("1"), D("50.00"), D("5.50"))}


@pytest.mark.parametrize(
    ("item", "details"),
    [
        pytest.param(
            ByAmount(D("21.00"), "S", D("121.01")),
            {"amount": ["Cannot credit more than 121.00 at 21.00% VAT (remaining)."]},
            id="over-21",
        ),
        pytest.param(
            ByAmount(D("11"), "S", D("55.51")),
            {"amount": ["Cannot credit more than 55.50 at 11.00% VAT (remaining)."]},
            id="over-11",
        ),
        pytest.param(
            ByAmount(D("19"), "S", D("10.00")),
            {"vatRate": ["The invoice has no S line at 19% VAT."]},
            id="unknown-rate",
        ),
        pytest.param(
            ByAmount(D("0"), "Z", D("1.00")),
            {"vatRate": ["The invoice has no Z line at 0% VAT."]},
            id="unknown-zero-rate",
        ),
        pytest.param(
            ByAmount(D("21"), "S", D("0.00")), {"amount": ["The amount to credit must be positive."]}, id="zero"
        ),
    ],
)
def test_credit_by_amount_violations(item, details):
    assert amount_invoice().credit(item).violations.details == details


def test_credit_by_amount_of_a_whole_rate():
    figures = amount_invoice().credit(ByAmount(D("21"), "S", D("121.00")))
    assert not figures.violations
    assert figures_of(figures) == (D("-100.00"), D("-21.00"), D("-121.00"))


def test_the_amount_cap_is_what_is_left_at_the_rate():
    book = amount_invoice()
    book.issue(book.credit(ByAmount(D("21"), "S", D("100.00"))))
    assert book.credit(ByAmount(D("21"), "S", D("21.01"))).violations.details == {
        "amount": ["Cannot credit more than 21.00 at 21.00% VAT (remaining)."]
    }
    last = book.issue(book.credit(ByAmount(D("21"), "S", D("21.00"))))
    assert figures_of(last) == (D("-17.36"), D("-3.64"), D("-21.00"))
    assert remaining_groups(book.remaining())[K21] == (ZERO, ZERO)


def test_an_amount_equal_to_what_is_left_takes_the_exact_remainder():
    # Five lines of 0.12 at 21%: 0.60, VAT 0.126 → 0.13, total 0.73. Four are credited one by one,
    # each note 0.12 + 0.03 (0.0252 → 0.03), so 0.12 and VAT 0.01 are left: gross 0.13.
    book = ledger(*[("1", "0.12", "21")] * 5)
    assert book.total == D("0.73")
    for line_id in range(1, 5):
        assert figures_of(book.issue(book.credit(ByLine(line_id, D("1"))))) == (D("-0.12"), D("-0.03"), D("-0.15"))
    assert remaining_groups(book.remaining()) == {K21: (D("0.12"), D("0.01"))}
    # round(0.13 / 1.21) would be 0.11 + 0.02; the last credit at the rate takes 0.12 + 0.01.
    figures = book.issue(book.credit(ByAmount(D("21"), "S", D("0.13"))))
    assert figures_of(figures) == (D("-0.12"), D("-0.01"), D("-0.13"))
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_groups(remaining) == {K21: (ZERO, ZERO)}


# --- the caps on a rate's net and on the total ---


def test_after_an_amount_credit_a_line_cannot_take_more_net_than_the_rate_has_left():
    book = ledger(("1", "100.00", "21"))
    assert figures_of(book.issue(book.credit(ByAmount(D("21"), "S", D("60.50"))))) == (
        D("-50.00"),
        D("-10.50"),
        D("-60.50"),
    )
    assert book.credit(ByLine(1, D("1"))).violations.details == {
        "lines": [
            "Cannot credit more than 50.00 net at 21.00% VAT (remaining).",
            "Cannot credit more than 60.50 (the invoice's remaining creditable total).",
        ]
    }
    half = book.issue(book.credit(ByLine(1, D("0.5"))))
    assert figures_of(half) == (D("-50.00"), D("-10.50"), D("-60.50"))  # exhausts the rate: its exact VAT
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_groups(remaining) == {K21: (ZERO, ZERO)}
    assert full_credit_items(parent_lines=book.parent_lines, remaining=remaining) == []


def test_the_total_cap_counts_what_a_voided_note_had_used():
    book = ledger(("1", "100.00", "21"))
    book.void(applied_and_refunded=D("50.00"))  # 121.00 − 50.00 = 71.00 left
    assert book.credit(ByAmount(D("21"), "S", D("80.00"))).violations.details == {
        "amount": ["Cannot credit more than 71.00 (the invoice's remaining creditable total)."]
    }
    assert book.credit(ByLine(1, D("1"))).violations.details == {
        "lines": ["Cannot credit more than 71.00 (the invoice's remaining creditable total)."]
    }
    figures = book.credit(ByAmount(D("21"), "S", D("71.00")))
    assert not figures.violations
    assert figures_of(figures) == (D("-58.68"), D("-12.32"), D("-71.00"))  # 71 / 1.21 = 58.677…


# --- full_credit_items ---


def test_a_full_credit_of_an_untouched_invoice_negates_it_exactly():
    book = two_rate_invoice()
    items = full_credit_items(parent_lines=book.parent_lines, remaining=book.remaining())
    assert items == [ByLine(1, D("3")), ByLine(2, D("2"))]
    figures = book.full_credit()
    assert not figures.violations
    assert groups_of(figures.totals.breakdown) == [
        (D("21.00"), "S", D("-30.06"), D("-6.31")),
        (D("11.00"), "S", D("-100.00"), D("-11.00")),
    ]
    assert figures_of(figures) == (D("-130.06"), D("-17.31"), D("-147.37"))


def test_a_full_credit_after_a_partial_one_credits_the_rest():
    book = two_rate_invoice()
    book.issue(book.credit(ByLine(1, D("1"))))
    assert full_credit_items(parent_lines=book.parent_lines, remaining=book.remaining()) == [
        ByLine(1, D("2")),
        ByLine(2, D("2")),
    ]
    figures = book.issue(book.full_credit())
    assert figures_of(figures) == (D("-120.04"), D("-15.21"), D("-135.25"))  # 147.37 − 12.12
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_lines(remaining) == {1: (ZERO, ZERO, ZERO), 2: (ZERO, ZERO, ZERO)}
    assert remaining_groups(remaining) == {K21: (ZERO, ZERO), K11: (ZERO, ZERO)}


def test_a_full_credit_after_an_amount_credit_goes_by_amount_per_rate():
    book = amount_invoice()
    book.issue(book.credit(ByAmount(D("21"), "S", D("60.50"))))  # 50.00 + 10.50
    items = full_credit_items(parent_lines=book.parent_lines, remaining=book.remaining())
    assert items == [ByAmount(D("21.00"), "S", D("60.50")), ByAmount(D("11.00"), "S", D("55.50"))]
    figures = book.issue(book.full_credit())
    assert groups_of(figures.totals.breakdown) == [
        (D("21.00"), "S", D("-50.00"), D("-10.50")),
        (D("11.00"), "S", D("-50.00"), D("-5.50")),
    ]
    assert figures_of(figures) == (D("-100.00"), D("-16.00"), D("-116.00"))
    remaining = book.remaining()
    assert remaining.total == ZERO
    assert remaining_groups(remaining) == {K21: (ZERO, ZERO), K11: (ZERO, ZERO)}


def test_a_full_credit_skips_a_rate_already_credited_by_amount():
    book = amount_invoice()
    book.issue(book.credit(ByAmount(D("11"), "S", D("55.50"))))
    assert full_credit_items(parent_lines=book.parent_lines, remaining=book.remaining()) == [
        ByAmount(D("21.00"), "S", D("121.00"))
    ]
    assert figures_of(book.issue(book.full_credit())) == (D("-100.00"), D("-21.00"), D("-121.00"))
    assert book.remaining().total == ZERO


def test_nothing_is_left_once_everything_is_credited():
    book = two_rate_invoice()
    book.issue(book.full_credit())
    assert full_credit_items(parent_lines=book.parent_lines, remaining=book.remaining()) == []
    assert book.full_credit().violations.details == {"lines": ["Nothing is left to credit on this invoice."]}


def test_a_full_credit_of_an_invoice_with_a_negative_line_negates_it_exactly():
    # API.md: a line's quantity is never zero (negative lines are allowed, e.g. a returned item or a
    # rebate line), and "a full credit of an untouched invoice has exactly the negated totals of the invoice".
    # 100.00 − 10.00 = 90.00 at 21%: VAT 18.90, total 108.90.
    book = ledger(("1", "100.00", "21"), ("-1", "10.00", "21"))
    assert book.total == D("108.90")
    figures = book.full_credit()
    assert figures.violations.details == {}
    assert figures_of(figures) == (D("-90.00"), D("-18.90"), D("-108.90"))


def test_a_full_credit_after_a_voided_note_that_was_partly_used_credits_what_is_left():
    # API.md: a voided note counts only with what it had applied or refunded; no lines and no amount
    # credits everything not yet credited — here 121.00 − 50.00 = 71.00.
    book = ledger(("1", "100.00", "21"))
    book.void(applied_and_refunded=D("50.00"))
    figures = book.full_credit()
    assert figures.violations.details == {}
    assert figures.totals.total == D("-71.00")


def test_a_full_credit_after_an_amount_credit_also_reverses_a_rate_that_is_a_deduction():
    # 1 × 1000.00 at 21% and an advance deducted at the rate it was invoiced at, −1 × 100.00 at 19%:
    # 21%: 1000.00 + 210.00; 19%: −100.00 − 19.00; total 1091.00. Then 500.00 is credited at 21%
    # (413.22 + 86.78), leaving 21%: 586.78 + 123.22 = 710.00, 19%: −119.00, total 591.00.
    book = ledger(("1", "1000.00", "21"), ("-1", "100.00", "19"))
    assert book.total == D("1091.00")
    assert figures_of(book.issue(book.credit(ByAmount(D("21"), "S", D("500.00"))))) == (
        D("-413.22"),
        D("-86.78"),
        D("-500.00"),
    )
    assert book.remaining().total == D("591.00")
    figures = book.full_credit()  # no lines and no amount: everything not yet credited
    assert figures.violations.details == {}
    assert groups_of(figures.totals.breakdown) == [
        (D("21.00"), "S", D("-586.78"), D("-123.22")),
        (D("19.00"), "S", D("100.00"), D("19.00")),
    ]
    assert figures_of(figures) == (D("-486.78"), D("-104.22"), D("-591.00"))


def test_crediting_only_a_rebate_line_is_refused():
    # 100.00 − 10.00 at 21%: 108.90. Crediting the rebate line alone makes a "credit note" of +12.10,
    # which API.md's sign convention and the credit_note_totals_not_positive constraint forbid, and
    # which would raise what the invoice has left to credit to 121.00, above its total.
    book = ledger(("1", "100.00", "21"), ("-1", "10.00", "21"))
    figures = book.credit(ByLine(2, D("1")))
    assert figures.violations, figures_of(figures)


def test_crediting_lines_one_by_one_never_makes_a_note_with_positive_vat():
    # Ten lines of 0.03 at 21%: 0.30, VAT 0.063 → 0.06, total 0.36. Each line credited alone carries
    # VAT 0.0063 → 0.01, so after six notes the rate's VAT is used up; the later notes must not drive it
    # negative and leave the last note a positive VAT (the exhausting note takes the remaining VAT).
    book = ledger(*[("1", "0.03", "21")] * 10)
    assert book.total == D("0.36")
    notes = []
    for line_id in range(1, 11):
        figures = book.credit(ByLine(line_id, D("1")))
        assert figures.violations.details == {}
        subtotal, vat, total = figures_of(figures)
        assert subtotal == D("-0.03")
        assert vat <= 0 and total <= 0, (line_id, figures_of(figures))
        notes.append(book.issue(figures))
    assert sum((n.totals.total for n in notes), ZERO) == D("-0.36")
    assert sum((n.totals.vat_total for n in notes), ZERO) == D("-0.06")


def test_a_partial_credit_of_a_free_line_is_zero_not_positive():
    # 3 × 0.01 with a 0.03 discount (a free line) beside 1 × 10.00, all at 21%. Half of the free line is
    # worth 0.00; taking round(0.03 × 1.5 / 3) = 0.02 off a gross of 0.015 must not make the note positive.
    book = ledger(("3", "0.01", "21", "0.03"), ("1", "10.00", "21"))
    assert book.parent_lines[0].net == ZERO
    for _ in range(2):
        figures = book.credit(ByLine(1, D("1.5")))
        assert figures.violations.details == {}
        assert figures.lines[0].figures.net == ZERO
        assert figures_of(figures) == (ZERO, ZERO, ZERO)
        book.issue(figures)


def test_the_discounts_of_a_lines_partial_credits_are_never_negative():
    # 7 × 0.25 with a 1.75 discount, credited 0.0201, 0.0601, 6.9001 and the last 0.0197 units: the first
    # three take round(0.25 × q) = 0.01, 0.02 and 1.73 (each 0.004975 more than its share), 1.76 in all,
    # so the last is left "−0.01" — a surcharge. The parts must stay within 0…1.75 and sum to 1.75.
    book = ledger(("7", "0.25", "0", "1.75"))
    notes = [book.issue(book.credit(ByLine(1, D(q)))) for q in ("0.0201", "0.0601", "6.9001", "0.0197")]
    discounts = [n.lines[0].discount for n in notes]
    assert all(discount >= 0 for discount in discounts), discounts
    assert sum(discounts, ZERO) == D("1.75")


# --- property: random invoices credited in random parts ---


RATES = [(D("0"), "Z"), (D("5"), "S"), (D("9"), "S"), (D("11"), "S"), (D("19"), "S"), (D("21"), "S")]


@dataclass(frozen=True)
class LineSpec:
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    vat_rate: Decimal
    vat_category: str


@st.composite
def line_specs(draw) -> list[LineSpec]:
    specs = []
    for _ in range(draw(st.integers(1, 6))):
        places = draw(st.integers(0, 4))
        quantity = D(draw(st.integers(1, 20 * 10**places))).scaleb(-places)
        if draw(st.integers(0, 5)) == 0:
            quantity = -quantity  # a rebate or returned-goods line (quantity is never zero, its sign is free)
        unit_price = D(draw(st.one_of(st.integers(1, 300), st.integers(1, 500_000)))).scaleb(-2)
        most = int((abs(quantity) * unit_price * 100).to_integral_value(rounding=ROUND_FLOOR))
        discount = D(draw(st.integers(0, most))).scaleb(-2) if draw(st.booleans()) else ZERO
        rate, category = draw(st.sampled_from(RATES))
        specs.append(LineSpec(quantity, unit_price, discount, rate, category))
    if summarize(parent_figures(specs)).total < 0:  # an invoice total is never negative
        specs = [replace(spec, quantity=abs(spec.quantity)) for spec in specs]
    return specs


def parent_figures(specs: list[LineSpec]) -> list[LineFigures]:
    return [
        price_line(
            quantity=spec.quantity,
            unit_price=spec.unit_price,
            discount=spec.discount,
            vat_rate=spec.vat_rate,
            vat_category=spec.vat_category,
        )
        for spec in specs
    ]


def parent_lines_of(specs: list[LineSpec], ids: list[int]) -> list[ParentLine]:
    lines = []
    for line_id, spec, figures in zip(ids, specs, parent_figures(specs), strict=True):
        lines.append(
            ParentLine(
                id=line_id,
                quantity=spec.quantity,
                unit_price=spec.unit_price,
                discount=spec.discount,
                vat_rate=spec.vat_rate,
                vat_category=spec.vat_category,
                net=figures.net,
                vat=figures.vat,
            )
        )
    return lines


class Books:
    """The invoice, and what the issued notes credited, counted here independently of remaining_creditable.

    Credited quantities and nets are counted in the parent line's sign: crediting a rebate line
    (negative quantity) puts a positive line on the note.
    """

    def __init__(self, parent_lines: list[ParentLine]):
        self.ledger = ledger_of(parent_lines)
        self.lines = {line.id: line for line in parent_lines}
        self.groups = {group.key: group for group in self.ledger.breakdown}
        self.credited_total = ZERO
        self.credited_lines = {line.id: [ZERO, ZERO, ZERO] for line in parent_lines}  # quantity, net, VAT
        self.credited_groups = {key: [ZERO, ZERO] for key in self.groups}  # taxable, VAT
        self.by_amount = False
        self.issued: list[CreditFigures] = []

    def left_quantity(self, line_id: int) -> Decimal:
        return abs(self.lines[line_id].quantity - self.credited_lines[line_id][0])

    def left_gross(self, key) -> Decimal:
        group = self.groups[key]
        return group.taxable + group.vat - sum(self.credited_groups[key])

    def issue(self, figures: CreditFigures) -> None:
        self.ledger.issue(figures)
        self.issued.append(figures)
        self.credited_total -= figures.totals.total
        for line in figures.lines:
            if isinstance(line.item, ByLine):
                counted = self.credited_lines[line.item.parent_line_id]
                counted[0] -= line.quantity
                counted[1] -= line.figures.net
                counted[2] -= line.figures.vat
            else:
                self.by_amount = True
        for group in figures.totals.breakdown:
            self.credited_groups[group.key][0] -= group.taxable
            self.credited_groups[group.key][1] -= group.vat

    def check_note(self, figures: CreditFigures) -> None:
        totals = figures.totals
        assert totals.subtotal == sum((line.figures.net for line in figures.lines), ZERO)
        assert totals.vat_total == sum((group.vat for group in totals.breakdown), ZERO)
        assert totals.total == totals.subtotal + totals.vat_total
        # A credit note's amounts are negative (API.md): its total, and each rate's net and VAT where the
        # invoice's are not negative themselves (a rate that is a deduction on the invoice is reversed).
        assert totals.total <= 0, figures_of(figures)
        for group in totals.breakdown:
            invoiced = self.groups[group.key]
            assert invoiced.taxable < 0 or group.taxable <= 0, groups_of(totals.breakdown)
            assert invoiced.vat < 0 or group.vat <= 0, groups_of(totals.breakdown)
        for group in totals.breakdown:
            assert group.taxable == sum((ln.figures.net for ln in figures.lines if ln.figures.key == group.key), ZERO)
        for line in figures.lines:
            assert line.unit_price >= 0 and line.discount >= 0
            if isinstance(line.item, ByLine):
                parent = self.lines[line.item.parent_line_id]
                assert (line.quantity < 0) == (parent.quantity > 0)  # the opposite sign of the line it credits
            else:  # one unit of the net: −1 as a credit, +1 where it reverses a deduction (a debit line)
                assert line.quantity == (D("1") if line.figures.net > 0 else D("-1"))
                assert line.quantity * line.unit_price == line.figures.net

    def check_never_over_credited(self) -> None:
        assert self.credited_total <= self.ledger.total
        for line_id, line in self.lines.items():
            sign = 1 if line.quantity > 0 else -1
            assert ZERO <= sign * self.credited_lines[line_id][0] <= abs(line.quantity)
        for key, group in self.groups.items():
            if group.taxable > 0:
                assert self.credited_groups[key][0] <= group.taxable
        # remaining_creditable agrees with the independent count
        remaining = self.ledger.remaining()
        assert remaining.total == self.ledger.total - self.credited_total
        for line_id, line in self.lines.items():
            quantity, net, vat = self.credited_lines[line_id]
            assert remaining_lines(remaining)[line_id] == (line.quantity - quantity, line.net - net, line.vat - vat)
        for key, group in self.groups.items():
            taxable, vat = self.credited_groups[key]
            assert remaining_groups(remaining)[key] == (group.taxable - taxable, group.vat - vat)

    def check_fully_credited(self) -> None:
        remaining = self.ledger.remaining()
        assert remaining.total == ZERO
        assert self.credited_total == self.ledger.total
        assert sum((f.totals.total for f in self.issued), ZERO) == -self.ledger.total
        for key, (taxable, vat) in remaining_groups(remaining).items():
            assert (taxable, vat) == (ZERO, ZERO), key
        if not self.by_amount:
            # Credits by amount lower a rate, never a line (API.md), so only without them must every line be zero.
            for line_id, left in remaining_lines(remaining).items():
                assert left == (ZERO, ZERO, ZERO), line_id


def draw_credit(data, books: Books) -> list | None:
    """A partial credit within what is left: some lines' quantities, or a gross amount at one rate."""
    if data.draw(st.booleans(), label="by line"):
        open_lines = [line_id for line_id in books.lines if books.left_quantity(line_id) > 0]
        if not open_lines:
            return None
        chosen = data.draw(st.lists(st.sampled_from(open_lines), min_size=1, max_size=3, unique=True), label="lines")
        return [
            ByLine(line_id, D(data.draw(st.integers(1, int(books.left_quantity(line_id).scaleb(4))))).scaleb(-4))
            for line_id in chosen
        ]
    open_groups = sorted(key for key in books.groups if books.left_gross(key) > 0)
    if not open_groups:
        return None
    key = data.draw(st.sampled_from(open_groups), label="rate")
    gross = D(data.draw(st.integers(1, int(books.left_gross(key).scaleb(2))), label="cents")).scaleb(-2)
    return [ByAmount(key[0], key[1], gross)]


def check_rejection(items: list, figures: CreditFigures, remaining: Remaining) -> None:
    """Items drawn within what is left may only fail the rate's net cap or the total cap, which the
    rounding of a partial credit can legitimately trip — never a line's quantity cap."""
    if isinstance(items[0], ByAmount):
        assert not figures.violations or items[0].gross > remaining.total, figures.violations.details
    else:
        assert set(figures.violations.details) <= {"lines"}, figures.violations.details


@settings(max_examples=200, deadline=None, database=None)
@given(specs=line_specs(), data=st.data())
def test_random_partial_credits_never_over_credit_and_sum_to_the_invoice(specs, data):
    books = Books(parent_lines_of(specs, list(range(1, len(specs) + 1))))
    for _ in range(data.draw(st.integers(0, 6), label="partial credits")):
        items = draw_credit(data, books)
        if items is None:
            continue
        remaining = books.ledger.remaining()
        figures = credit_figures(parent_lines=books.ledger.parent_lines, remaining=remaining, items=items)
        if figures.violations:
            event("a partial credit rejected by a cap")
            check_rejection(items, figures, remaining)
            continue
        event(f"issued a partial credit by {'line' if isinstance(items[0], ByLine) else 'amount'}")
        books.check_note(figures)
        books.issue(figures)
        books.check_never_over_credited()

    items = full_credit_items(parent_lines=books.ledger.parent_lines, remaining=books.ledger.remaining())
    event(f"final full credit: {'none left' if not items else type(items[0]).__name__}")
    if items:
        figures = books.ledger.full_credit()
        assert not figures.violations, figures.violations.details
        books.check_note(figures)
        books.issue(figures)
        books.check_never_over_credited()
    books.check_fully_credited()


# --- the same through the services, against PostgreSQL ---


def db_invoice(company, specs: list[LineSpec]) -> tuple[Document, list[DocumentLine]]:
    invoice = factories.invoice(
        company,
        lines=[
            factories.line(
                quantity=spec.quantity,
                unit_price=spec.unit_price,
                vat_rate=spec.vat_rate,
                discount=spec.discount,
                vat_category=spec.vat_category,
            )
            for spec in specs
        ],
    )
    return invoice, list(invoice.lines.order_by("position"))


def db_credit(invoice: Document, items: list, uuids: dict[int, object]) -> Document:
    if isinstance(items[0], ByLine):
        return factories.credit(
            invoice, lines=[{"parent_line_id": uuids[item.parent_line_id], "quantity": item.quantity} for item in items]
        )
    (item,) = items
    return factories.credit(invoice, amount=item.gross, vat_rate=item.vat_rate, vat_category=item.vat_category)


def assert_note_matches(note: Document, figures: CreditFigures) -> None:
    assert note.status == DocumentStatus.ISSUED
    assert (note.subtotal, note.vat_total, note.total) == figures_of(figures)
    assert note.vat_breakdown == breakdown_to_json(figures.totals.breakdown)
    stored = [
        (ln.quantity, ln.unit_price, ln.discount, ln.net_amount, ln.vat_amount, ln.line_total)
        for ln in note.lines.order_by("position")
    ]
    assert stored == [
        (ln.quantity, ln.unit_price, ln.discount, ln.figures.net, ln.figures.vat, ln.figures.total)
        for ln in figures.lines
    ]


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=line_specs(), data=st.data())
def test_random_partial_credits_through_the_services(company, specs, data):
    # Each example makes its own invoice, so examples sharing the test's database do not meet.
    invoice, stored_lines = db_invoice(company, specs)
    uuids = {line.pk: line.uuid for line in stored_lines}
    books = Books(parent_lines_of(specs, [line.pk for line in stored_lines]))
    assert [(ln.net_amount, ln.vat_amount) for ln in stored_lines] == [(ln.net, ln.vat) for ln in books.lines.values()]
    assert invoice.total == books.ledger.total

    for _ in range(data.draw(st.integers(0, 5), label="partial credits")):
        items = draw_credit(data, books)
        if items is None:
            continue
        remaining = books.ledger.remaining()
        figures = credit_figures(parent_lines=books.ledger.parent_lines, remaining=remaining, items=items)
        if figures.violations:
            check_rejection(items, figures, remaining)
            with pytest.raises(RuleViolation) as rejected:
                db_credit(invoice, items, uuids)
            assert rejected.value.details == figures.violations.details
            continue
        note = db_credit(invoice, items, uuids)
        assert_note_matches(note, figures)
        books.issue(figures)
        books.check_never_over_credited()

    figures = books.ledger.full_credit()
    if figures.lines:
        assert not figures.violations, figures.violations.details
        assert_note_matches(factories.credit(invoice), figures)
        books.issue(figures)
    else:
        with pytest.raises(RuleViolation):
            factories.credit(invoice)
    books.check_fully_credited()

    notes = Document.objects.filter(parent_document=invoice, is_credit_note=True, status=DocumentStatus.ISSUED)
    assert sum((note.total for note in notes), ZERO) == -invoice.total
    for line in stored_lines:
        credited = sum((-ln.quantity for ln in DocumentLine.objects.filter(parent_line=line)), ZERO)
        sign = 1 if line.quantity > 0 else -1
        assert ZERO <= sign * credited <= abs(line.quantity)
        if not books.by_amount:
            assert credited == line.quantity
    _, remaining = invoice_creditable(invoice=invoice)
    assert remaining.total == ZERO
    assert all((g.taxable, g.vat) == (ZERO, ZERO) for g in remaining.groups.values())


@pytest.mark.django_db
def test_a_full_credit_of_an_invoice_with_a_negative_line_through_the_services(company):
    invoice = factories.invoice(
        company,
        lines=[
            factories.line(quantity="1", unit_price="100.00", vat_rate="21"),
            factories.line(description="Rebate", quantity="-1", unit_price="10.00", vat_rate="21"),
        ],
    )
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (D("90.00"), D("18.90"), D("108.90"))
    note = factories.credit(invoice)  # API.md: exactly the negated totals of the invoice, not a 422
    assert (note.subtotal, note.vat_total, note.total) == (D("-90.00"), D("-18.90"), D("-108.90"))


@pytest.mark.django_db
def test_crediting_only_a_rebate_line_through_the_services_is_a_rule_violation(company):
    invoice = factories.invoice(
        company,
        lines=[
            factories.line(quantity="1", unit_price="100.00", vat_rate="21"),
            factories.line(description="Rebate", quantity="-1", unit_price="10.00", vat_rate="21"),
        ],
    )
    rebate = invoice.lines.get(position=2)
    with pytest.raises(RuleViolation):  # 422, not an IntegrityError (500)
        factories.credit(invoice, lines=[{"parent_line_id": rebate.uuid, "quantity": D("1")}])


@pytest.mark.django_db
def test_crediting_lines_one_by_one_through_the_services(company):
    invoice = factories.invoice(company, lines=[factories.line(quantity="1", unit_price="0.03")] * 10)
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (D("0.30"), D("0.06"), D("0.36"))
    for line in invoice.lines.order_by("position"):
        note = factories.credit(invoice, lines=[{"parent_line_id": line.uuid, "quantity": D("1")}])
        assert note.vat_total <= 0 and note.total <= 0
    notes = Document.objects.filter(parent_document=invoice, status=DocumentStatus.ISSUED)
    assert sum((note.total for note in notes), ZERO) == D("-0.36")


@pytest.mark.django_db
def test_a_partial_credit_of_a_free_line_through_the_services(company):
    invoice = factories.invoice(
        company,
        lines=[
            factories.line(quantity="3", unit_price="0.01", discount=D("0.03")),
            factories.line(quantity="1", unit_price="10.00"),
        ],
    )
    free = invoice.lines.get(position=1)
    try:
        note = factories.credit(invoice, lines=[{"parent_line_id": free.uuid, "quantity": D("1.5")}])
    except RuleViolation:
        return  # refusing it is acceptable; an IntegrityError (a 500) is not
    assert (note.subtotal, note.vat_total, note.total) == (ZERO, ZERO, ZERO)


@pytest.mark.django_db
def test_a_full_credit_of_an_invoice_whose_vat_total_is_negative_through_the_services(company):
    # 1000.00 at 0% (Z) less an advance invoiced at 21%, −1 × 100.00: subtotal 900.00, VAT −21.00, total 879.00.
    # API.md: the full credit has exactly the negated totals, so its VAT is +21.00.
    invoice = factories.invoice(
        company,
        lines=[
            factories.line(quantity="1", unit_price="1000.00", vat_rate="0", vat_category="Z"),
            factories.line(description="Advance", quantity="-1", unit_price="100.00", vat_rate="21"),
        ],
    )
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (D("900.00"), D("-21.00"), D("879.00"))
    note = factories.credit(invoice)
    assert (note.subtotal, note.vat_total, note.total) == (D("-900.00"), D("21.00"), D("-879.00"))
