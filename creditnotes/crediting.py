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
    discount: Decimal = ZERO


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
    discount: Decimal = ZERO

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
    lines = {line.id: [line.quantity, line.net, line.vat, line.discount] for line in parent_lines}
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
                remainder[3] -= credited.discount
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
    have eaten into a rate without touching quantities, each rate's exact remainder (whatever its
    sign: a rate that is a deduction is reversed too).

    When voided notes have used part of the invoice (their applied or refunded credit stays
    consumed), what is left is a total smaller than the rates': it is spread over the rates in
    proportion to what each has left, the last rate taking the rounding.
    """
    by_group = [
        ByAmount(vat_rate=group.vat_rate, vat_category=group.vat_category, gross=group.gross)
        for group in remaining.groups.values()
        if (group.taxable, group.vat) != (ZERO, ZERO)
    ]
    left_in_groups = sum((item.gross for item in by_group), ZERO)
    if remaining.total < left_in_groups:
        return _spread(remaining.total, [item for item in by_group if item.gross > 0])
    by_line = [
        ByLine(parent_line_id=line.id, quantity=abs(remaining.lines[line.id].quantity))
        for line in parent_lines
        if remaining.lines[line.id].quantity != 0
    ]
    lines_match_groups = all(
        sum((remaining.lines[line.id].net for line in parent_lines if line.key == key), ZERO) == group.taxable
        for key, group in remaining.groups.items()
    )
    return by_line if lines_match_groups else by_group


def _spread(total: Decimal, groups: list[ByAmount]) -> list[ByAmount]:
    if total <= 0 or not groups:
        return []
    weight = sum((group.gross for group in groups), ZERO)
    shares, given = [], ZERO
    for group in groups[:-1]:
        share = round_money(total * group.gross / weight)
        shares.append(ByAmount(vat_rate=group.vat_rate, vat_category=group.vat_category, gross=share))
        given += share
    last = groups[-1]
    shares.append(ByAmount(vat_rate=last.vat_rate, vat_category=last.vat_category, gross=total - given))
    return [share for share in shares if share.gross > 0]


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
            if item.quantity > abs(left.quantity):
                violations.add(
                    f"lines[{index}].quantity",
                    f"Cannot credit more than {abs(left.quantity).normalize():f} remaining units.",
                )
                continue
            credit_lines.append(_credit_line(line, left, item))
        else:
            group = remaining.groups.get(tax_key(item.vat_rate, item.vat_category))
            if group is None:
                violations.add("vatRate", f"The invoice has no {item.vat_category} line at {item.vat_rate}% VAT.")
                continue
            if item.gross == 0 or (item.gross < 0 and item.gross != group.gross):  # only a deduction's remainder
                violations.add("amount", "The amount to credit must be positive.")
                continue
            if item.gross > group.gross:
                violations.add("amount", f"Cannot credit more than {group.gross} at {group.vat_rate}% VAT (remaining).")
                continue
            if item.gross == group.gross:
                figures = LineFigures(
                    vat_rate=group.vat_rate,
                    vat_category=group.vat_category,
                    net=-group.taxable,
                    vat=-group.vat,
                    fixed_vat=True,
                )
            else:
                figures = amount_line(gross=item.gross, vat_rate=group.vat_rate, vat_category=group.vat_category)
            # Reversing a deduction is a debit line: positive quantity, and the price stays positive (BR-27).
            quantity = Decimal(1) if figures.net > 0 else Decimal(-1)
            credit_lines.append(
                CreditLine(item=item, quantity=quantity, unit_price=abs(figures.net), discount=ZERO, figures=figures)
            )
    totals = summarize([line.figures for line in credit_lines], _pinned_vat(credit_lines, remaining))
    if totals.total > 0:
        violations.add("lines", "A credit note cannot add to what the client owes; credit the invoiced lines too.")
    for group in totals.breakdown:
        left = remaining.groups.get(group.key)
        # Only a rate that is a deduction on the invoice is reversed upwards; anywhere else a positive
        # rate would make the note a debit at that rate (a rebate credited without what it reduces).
        if left is not None and left.taxable >= 0 and group.taxable > 0:
            violations.add(
                "lines",
                f"At {group.vat_rate}% VAT this note would add to what is owed; credit the rebate "
                "together with the lines it reduces.",
            )
        if left is not None and -group.taxable > left.taxable:
            violations.add("lines", f"Cannot credit more than {left.taxable} net at {group.vat_rate}% VAT (remaining).")
    if credit_lines and -totals.total > remaining.total:
        violations.add(
            "lines" if isinstance(items[0], ByLine) else "amount",
            f"Cannot credit more than {remaining.total} (the invoice's remaining creditable total).",
        )
    return CreditFigures(lines=tuple(credit_lines), totals=totals, violations=violations)


def _credit_line(line: ParentLine, left: LineRemainder, item: ByLine) -> CreditLine:
    """A credit of `item.quantity` units of `line`; a negative (rebate) line is credited positively.

    A partial credit takes its share of the line cumulatively — round(x · (c + q) / Q) −
    round(x · c / Q), with c units credited before — so each share keeps the line's sign, and the
    shares of a line sum to it exactly; the last credit takes the exact remainder.
    """
    sign = 1 if line.quantity > 0 else -1
    invoiced = abs(line.quantity)
    if item.quantity == abs(left.quantity):
        discount, net, vat = left.discount, left.net, left.vat
    else:
        before = invoiced - abs(left.quantity)

        def share(whole: Decimal) -> Decimal:
            return round_money(whole * (before + item.quantity) / invoiced) - round_money(whole * before / invoiced)

        discount, net = share(line.discount), share(line.net)
        vat = vat_of(net, line.vat_rate)
    figures = LineFigures(vat_rate=line.vat_rate, vat_category=line.vat_category, net=-net, vat=-vat)
    return CreditLine(
        item=item, quantity=-sign * item.quantity, unit_price=line.unit_price, discount=discount, figures=figures
    )


def _pinned_vat(credit_lines: Sequence[CreditLine], remaining: Remaining) -> dict[TaxKey, Decimal]:
    """The VAT of the groups whose own rounding must not decide it.

    A note that credits a group to zero takes the group's exact remaining VAT. A note that does not
    takes round(rate × its nets), but never more than the group has left: many small notes, each
    rounded up, would otherwise take more VAT than the invoice charged.
    """
    lines_by_group: dict[TaxKey, list[LineFigures]] = {}
    for line in credit_lines:
        lines_by_group.setdefault(line.figures.key, []).append(line.figures)
    pinned = {}
    for key, figures in lines_by_group.items():
        left = remaining.groups.get(key)
        if left is None:
            continue
        credited_net = -sum((figure.net for figure in figures), ZERO)
        if credited_net == left.taxable:
            pinned[key] = -left.vat
            continue
        own = summarize(figures).vat_total
        if left.vat >= 0 and -own > left.vat:
            pinned[key] = -left.vat
    return pinned
