"""Totals of invoices and credit notes: pure functions on Decimals, no ORM, no I/O.

Every caller (services, preview, UBL builder, PDF) reads the figures computed here.
Rules (EN 16931): line net = round(quantity × unit price − discount); VAT per (rate, category)
on the summed nets (BR-CO-17); document VAT = Σ of that breakdown; totals are sums of rounded parts.
ROUND_HALF_UP rounds half away from zero, so negating every input negates every figure exactly.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# The largest amount stored or accepted anywhere (numeric(18, 2) leaves room for sums of these).
MAX_MONEY = Decimal("999999999999.99")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

TaxKey = tuple[Decimal, str]  # (rate quantized to 0.01, VAT category)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def tax_key(rate: Decimal, category: str) -> TaxKey:
    return (Decimal(rate).quantize(CENT, rounding=ROUND_HALF_UP), category)


def vat_of(taxable: Decimal, rate: Decimal) -> Decimal:
    return round_money(taxable * rate / HUNDRED)


def line_net(quantity: Decimal, unit_price: Decimal, discount: Decimal = ZERO) -> Decimal:
    """The discount lowers the line's magnitude, whatever its sign (a credit line is negative)."""
    gross = quantity * unit_price
    return round_money(gross - discount if quantity >= 0 else gross + discount)


def net_of_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """The net part of a VAT-inclusive amount: round(gross / (1 + rate/100))."""
    return round_money(gross * HUNDRED / (HUNDRED + rate))


@dataclass(frozen=True)
class LineFigures:
    vat_rate: Decimal
    vat_category: str
    net: Decimal
    vat: Decimal
    # A line whose VAT is fixed by the way it was made (a credit by gross amount: VAT = amount − net)
    # contributes that VAT to its group instead of a share of the group's rate × summed nets.
    fixed_vat: bool = False

    @property
    def total(self) -> Decimal:
        return self.net + self.vat

    @property
    def key(self) -> TaxKey:
        return tax_key(self.vat_rate, self.vat_category)


@dataclass(frozen=True)
class VatGroup:
    vat_rate: Decimal
    vat_category: str
    taxable: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.taxable + self.vat

    @property
    def key(self) -> TaxKey:
        return tax_key(self.vat_rate, self.vat_category)


@dataclass(frozen=True)
class Totals:
    breakdown: tuple[VatGroup, ...]
    subtotal: Decimal
    vat_total: Decimal
    total: Decimal


def price_line(
    *, quantity: Decimal, unit_price: Decimal, vat_rate: Decimal, vat_category: str, discount: Decimal = ZERO
) -> LineFigures:
    net = line_net(quantity, unit_price, discount)
    return LineFigures(vat_rate=vat_rate, vat_category=vat_category, net=net, vat=vat_of(net, vat_rate))


def summarize(lines: Sequence[LineFigures], group_vat: Mapping[TaxKey, Decimal] | None = None) -> Totals:
    """The VAT breakdown and totals of a document.

    `group_vat` pins a group's VAT (a credit note that exhausts a rate takes the exact remainder
    rather than its own rounding); otherwise a group's VAT is round(rate × Σ nets) over its priced
    lines plus the fixed VAT of its amount lines.
    """
    group_vat = group_vat or {}
    groups: dict[TaxKey, list[LineFigures]] = {}
    for line in lines:
        groups.setdefault(line.key, []).append(line)
    breakdown = []
    for key in sorted(groups, key=lambda k: (-k[0], k[1])):
        members = groups[key]
        taxable = sum((line.net for line in members), ZERO)
        if key in group_vat:
            vat = group_vat[key]
        else:
            priced_net = sum((line.net for line in members if not line.fixed_vat), ZERO)
            fixed = sum((line.vat for line in members if line.fixed_vat), ZERO)
            vat = vat_of(priced_net, key[0]) + fixed
        breakdown.append(VatGroup(vat_rate=key[0], vat_category=key[1], taxable=taxable, vat=vat))
    subtotal = sum((group.taxable for group in breakdown), ZERO)
    vat_total = sum((group.vat for group in breakdown), ZERO)
    return Totals(breakdown=tuple(breakdown), subtotal=subtotal, vat_total=vat_total, total=subtotal + vat_total)


def breakdown_to_json(breakdown: Sequence[VatGroup]) -> list[dict]:
    return [
        {
            "vatRate": str(group.vat_rate),
            "vatCategory": group.vat_category,
            "taxableAmount": str(group.taxable),
            "vatAmount": str(group.vat),
        }
        for group in breakdown
    ]


def breakdown_from_json(rows: Sequence[Mapping]) -> tuple[VatGroup, ...]:
    return tuple(
        VatGroup(
            vat_rate=Decimal(row["vatRate"]),
            vat_category=row["vatCategory"],
            taxable=Decimal(row["taxableAmount"]),
            vat=Decimal(row["vatAmount"]),
        )
        for row in rows
    )
