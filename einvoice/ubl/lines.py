"""BG-25 lines: quantity, net amount, discount as a line allowance, item and price."""

from decimal import Decimal

from lxml import etree

from einvoice.ubl.formatting import money_text, shortened
from einvoice.ubl.forms import Form
from einvoice.ubl.namespaces import aggregate, basic
from einvoice.ubl.totals import tax_category
from invoices.models import DocumentLine

MAX_ITEM_NAME_LENGTH = 100  # BR-RO-L1024; the description (BT-154) may hold 200, as our column does
DISCOUNT_REASON_CODE = "95"  # UNCL 5189 "Discount"; BR-42 wants a reason code or text
DISCOUNT_REASON = "Discount"


def allowance(line: DocumentLine) -> Decimal:
    """BT-136 in stored signs, such that net = quantity × price − allowance.

    The stored net is quantity × price − discount for a positive quantity and + discount for a
    negative one (a discount lowers the line's magnitude), so the allowance takes the quantity's
    sign: positive on invoices and in a CreditNote 381, negative in a storno Invoice 380.
    """
    return line.discount if line.quantity > 0 else -line.discount


def _discount(parent: etree._Element, line: DocumentLine, form: Form, currency: str) -> None:
    element = aggregate(parent, "AllowanceCharge")
    basic(element, "ChargeIndicator", "false")
    basic(element, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)
    basic(element, "AllowanceChargeReason", DISCOUNT_REASON)
    basic(element, "Amount", form.amount(allowance(line)), currencyID=currency)


def _item(parent: etree._Element, line: DocumentLine) -> None:
    element = aggregate(parent, "Item")
    name = shortened(line.description, MAX_ITEM_NAME_LENGTH)
    if name != line.description:
        basic(element, "Description", line.description)
    basic(element, "Name", name)
    tax_category(element, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)


def document_line(root: etree._Element, line: DocumentLine, form: Form, currency: str) -> None:
    element = aggregate(root, form.line_element)
    basic(element, "ID", str(line.position))
    basic(element, form.quantity_element, form.quantity(line.quantity), unitCode=line.unit_of_measure)
    basic(element, "LineExtensionAmount", form.amount(line.net_amount), currencyID=currency)
    if line.discount:
        _discount(element, line, form, currency)
    _item(element, line)
    # BR-27: the price is never negative, whatever the form; the sign lives in the quantity.
    basic(aggregate(element, "Price"), "PriceAmount", money_text(line.unit_price), currencyID=currency)
