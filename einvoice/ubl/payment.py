"""BG-16 payment instructions: a credit transfer to the company's IBAN."""

from lxml import etree

from einvoice.ubl.namespaces import aggregate, basic
from invoices.models import Document

CREDIT_TRANSFER = "30"  # UNCL 4461; BR-61 then requires the account (BT-84)


def payment_means(root: etree._Element, document: Document) -> None:
    """Invoices only: a credit note is money the seller owes, never paid into the seller's account."""
    company = document.company
    if document.is_credit_note or not company.iban:
        return
    element = aggregate(root, "PaymentMeans")
    basic(element, "PaymentMeansCode", CREDIT_TRANSFER)
    basic(element, "PaymentID", document.number)  # BT-83, the reference the buyer pays with
    account = aggregate(element, "PayeeFinancialAccount")
    basic(account, "ID", company.iban)
    basic(account, "Name", company.name)
