"""What an invoice has left to credit, and the figures of a credit note against it. Pure: no ORM.

Every figure of a credit note is negative; the magnitudes here are positive and negated at the end.
The note that exhausts a line takes that line's exact remaining net and VAT, and the note that
exhausts a (rate, category) group takes the group's exact remaining VAT, so however an invoice is
credited in parts, the parts sum to the invoice to the cent.

What a prior note consumes: a live (issued, partially applied, applied) note its lines, its VAT
groups and its total; a voided note only what it had applied or refunded, against the total.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from config.errors import Violations
from invoices.calculations import (
    ZERO,
    LineFigures,
    TaxKey,
    Totals,
    VatGroup,
    line_net,
    net_of_gross,
    round_money,
    summarize,
    tax_key,
    vat_of,
)


@dataclass(frozen=True)
class ParentLine:
    id: int
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    vat_rate: Decimal
    vat_category: str
    net: Decimal
    vat: Decimal

    @property
    def key(self) -> TaxKey:
        return tax_key(self.vat_rate, self.vat_category)


@dataclass(frozen=True)
class CreditedLine:
    """A line of a prior note, in magnitudes."""

    parent_line_id: int
    quantity: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class PriorNote:
    live: bool
    consumed_total: Decimal  # magnitude counted against the invoice total
    lines: tuple[CreditedLine, ...] = ()
    breakdown: tuple[VatGroup, ...] = ()  # magnitudes


@dataclass(frozen=True)
class LineRemainder:
    quantity: Decimal
    net: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class Remaining:
    lines: Mapping[int, LineRemainder]
    groups: Mapping[TaxKey, VatGroup]
    total: Decimal


@dataclass(frozen=True)
class ByLine:
    parent_line_id: int
    quantity: Decimal  # magnitude


@dataclass(frozen=True)
class ByAmount:
    vat_rate: Decimal
    vat_category: str
    gross: Decimal  # magnitude, VAT included


@dataclass(frozen=True)
class CreditLine:
    item: ByLine | ByAmount
    quantity: Decimal  # negative
    unit_price: Decimal  # positive (BR-27)
    discount: Decimal  # positive
    figures: LineFigures  # negative


@dataclass(frozen=True)
class CreditFigures:
    lines: tuple[CreditLine, ...]
    totals: Totals
    violations: Violations = field(default_factory=Violations)


def remaining_creditable(
    *,
    parent_lines: Sequence[ParentLine],
    parent_breakdown: Sequence[VatGroup],
    parent_total: Decimal,
    prior_notes: Sequence[PriorNote],
) -> Remaining:
    lines = {line.id: [line.quantity, line.net, line.vat] for line in parent_lines}
    groups = {group.key: [group.taxable, group.vat, group] for group in parent_breakdown}
    total = parent_total
    for note in prior_notes:
        total -= note.consumed_total
        if not note.live:
            continue
        for credited in note.lines:
            if credited.parent_line_id in lines:
                remainder = lines[credited.parent_line_id]
                remainder[0] -= credited.quantity
                remainder[1] -= credited.net
                remainder[2] -= credited.vat
        for group in note.breakdown:
            if group.key in groups:
                groups[group.key][0] -= group.taxable
                groups[group.key][1] -= group.vat
    return Remaining(
        lines={line_id: LineRemainder(*values) for line_id, values in lines.items()},
        groups={
            key: VatGroup(vat_rate=parent.vat_rate, vat_category=parent.vat_category, taxable=taxable, vat=vat)
            for key, (taxable, vat, parent) in groups.items()
        },
        total=total,
    )


def full_credit_items(*, parent_lines: Sequence[ParentLine], remaining: Remaining) -> list[ByLine | ByAmount]:
    """Everything not yet credited: every line's remaining quantity, or, once credits by amount
    have eaten into a rate without touching quantities, each group's remaining gross."""
    by_line = [
        ByLine(parent_line_id=line.id, quantity=remaining.lines[line.id].quantity)
        for line in parent_lines
        if remaining.lines[line.id].quantity > 0
    ]
    lines_match_groups = all(
        sum((remaining.lines[line.id].net for line in parent_lines if line.key == key), ZERO) == group.taxable
        for key, group in remaining.groups.items()
    )
    if lines_match_groups:
        return by_line
    return [
        ByAmount(vat_rate=group.vat_rate, vat_category=group.vat_category, gross=group.gross)
        for group in remaining.groups.values()
        if group.gross > 0
    ]


def amount_line(*, gross: Decimal, vat_rate: Decimal, vat_category: str) -> LineFigures:
    """A credit by gross amount, negative: net = round(gross / (1 + rate)), VAT = gross − net."""
    net = net_of_gross(gross, vat_rate)
    return LineFigures(vat_rate=vat_rate, vat_category=vat_category, net=-net, vat=-(gross - net), fixed_vat=True)


def credit_figures(
    *,
    parent_lines: Sequence[ParentLine],
    remaining: Remaining,
    items: Sequence[ByLine | ByAmount],
) -> CreditFigures:
    """The figures of a note crediting `items` of the parent, with every cap violation collected.

    Violations are keyed `lines[i].quantity`, `lines[i].parentLineId`, `amount` or `vatRate`;
    the caller raises them (or, for a preview, may show them).
    """
    violations = Violations()
    by_id = {line.id: line for line in parent_lines}
    credit_lines: list[CreditLine] = []
    seen: set[int] = set()
    if not items:
        violations.add("lines", "Nothing is left to credit on this invoice.")
    for index, item in enumerate(items):
        if isinstance(item, ByLine):
            line = by_id.get(item.parent_line_id)
            if line is None:
                violations.add(f"lines[{index}].parentLineId", "Not a line of the credited invoice.")
                continue
            if item.parent_line_id in seen:
                violations.add(f"lines[{index}].parentLineId", "This line is credited twice in the request.")
                continue
            seen.add(item.parent_line_id)
            left = remaining.lines[line.id]
            if item.quantity <= 0:
                violations.add(f"lines[{index}].quantity", "The quantity to credit must not be zero.")
                continue
            if item.quantity > left.quantity:
                violations.add(
                    f"lines[{index}].quantity",
                    f"Cannot credit more than {left.quantity.normalize():f} remaining units.",
                )
                continue
            credit_lines.append(_credit_line(line, left, item))
        else:
            group = remaining.groups.get(tax_key(item.vat_rate, item.vat_category))
            if group is None:
                violations.add("vatRate", f"The invoice has no {item.vat_category} line at {item.vat_rate}% VAT.")
                continue
            if item.gross <= 0:
                violations.add("amount", "The amount to credit must be positive.")
                continue
            if item.gross > group.gross:
                violations.add(
                    "amount", f"Cannot credit more than {group.gross} at {group.vat_rate}% VAT (remaining)."
                )
                continue
            if item.gross == group.gross:
                figures = LineFigures(
                    vat_rate=group.vat_rate, vat_category=group.vat_category,
                    net=-group.taxable, vat=-group.vat, fixed_vat=True,
                )
            else:
                figures = amount_line(gross=item.gross, vat_rate=group.vat_rate, vat_category=group.vat_category)
            credit_lines.append(
                CreditLine(item=item, quantity=Decimal(-1), unit_price=-figures.net, discount=ZERO, figures=figures)
            )
    totals = summarize([line.figures for line in credit_lines], _exhausted_groups(credit_lines, remaining))
    for group in totals.breakdown:
        left = remaining.groups.get(group.key)
        if left is not None and -group.taxable > left.taxable:
            violations.add(
                "lines", f"Cannot credit more than {left.taxable} net at {group.vat_rate}% VAT (remaining)."
            )
    if credit_lines and -totals.total > remaining.total:
        violations.add("lines" if isinstance(items[0], ByLine) else "amount",
                       f"Cannot credit more than {remaining.total} (the invoice's remaining creditable total).")
    return CreditFigures(lines=tuple(credit_lines), totals=totals, violations=violations)


def _credit_line(line: ParentLine, left: LineRemainder, item: ByLine) -> CreditLine:
    if item.quantity == left.quantity:
        # The last credit of a line takes its exact remainder, so the line's credits sum to it.
        discount = line.discount - round_money(line.discount * (line.quantity - left.quantity) / line.quantity)
        figures = LineFigures(vat_rate=line.vat_rate, vat_category=line.vat_category, net=-left.net, vat=-left.vat)
    else:
        discount = round_money(line.discount * item.quantity / line.quantity)
        net = line_net(-item.quantity, line.unit_price, discount)
        figures = LineFigures(
            vat_rate=line.vat_rate, vat_category=line.vat_category, net=net, vat=vat_of(net, line.vat_rate)
        )
    return CreditLine(item=item, quantity=-item.quantity, unit_price=line.unit_price, discount=discount, figures=figures)


def _exhausted_groups(credit_lines: Sequence[CreditLine], remaining: Remaining) -> dict[TaxKey, Decimal]:
    """The groups this note credits to zero, pinned to their exact remaining VAT."""
    credited: dict[TaxKey, Decimal] = {}
    for line in credit_lines:
        credited[line.figures.key] = credited.get(line.figures.key, ZERO) - line.figures.net
    return {
        key: -remaining.groups[key].vat
        for key, taxable in credited.items()
        if key in remaining.groups and taxable == remaining.groups[key].taxable
    }
