"""Text forms of stored values: amounts with two decimals (BR-DEC-*), quantities and rates as stored, and text
cut to a CIUS-RO length limit."""

from decimal import Decimal

from invoices.calculations import round_money

ELLIPSIS = "…"


def _unsigned_zero(value: Decimal) -> Decimal:
    # Negating a stored zero gives -0.00, a sign the figure does not have.
    return abs(value) if value == 0 else value


def money_text(value: Decimal) -> str:
    return f"{_unsigned_zero(round_money(value)):f}"


def number_text(value: Decimal) -> str:
    """`2.5000` → `2.5`, `100.0000` → `100`: the value without the column's padding zeros."""
    return f"{_unsigned_zero(value.normalize()):f}"


def shortened(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis marking what was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS
