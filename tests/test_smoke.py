from decimal import Decimal

from tests import factories


def test_full_credit_negates_invoice(company):
    invoice = factories.invoice(company, lines=[factories.line(quantity="3", unit_price="0.12")])
    note = factories.credit(invoice)
    assert (note.subtotal, note.vat_total, note.total) == (-invoice.subtotal, -invoice.vat_total, -invoice.total)
    assert invoice.vat_total == Decimal("0.08")
