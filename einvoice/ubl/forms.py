"""Which UBL form a stored document takes, and the sign its stored figures take in that form.

A credit note is stored with negative quantities and amounts (its unit price stays positive).
As a CreditNote (381) the credit is said by the document type, so every figure is written
positive; as a storno Invoice (380) the figures keep their minus sign and only the price stays
positive (BR-27). Invoices are written as stored. Reference: anaf-efactura.md §2.2-2.3.
"""

from dataclasses import dataclass
from decimal import Decimal

from einvoice.ubl import namespaces
from einvoice.ubl.formatting import money_text, number_text
from invoices.models import Document

CREDIT_NOTE_TYPE_CODE = "381"


@dataclass(frozen=True)
class Form:
    namespace: str
    root: str
    type_code_element: str
    line_element: str
    quantity_element: str
    type_code: str
    sign: int

    def amount(self, stored: Decimal) -> str:
        return money_text(self.sign * stored)

    def quantity(self, stored: Decimal) -> str:
        return number_text(self.sign * stored)


def form_of(document: Document) -> Form:
    if document.is_credit_note and document.invoice_type_code == CREDIT_NOTE_TYPE_CODE:
        return Form(
            namespace=namespaces.CREDIT_NOTE,
            root="CreditNote",
            type_code_element="CreditNoteTypeCode",
            line_element="CreditNoteLine",
            quantity_element="CreditedQuantity",
            type_code=CREDIT_NOTE_TYPE_CODE,
            sign=-1,
        )
    return Form(
        namespace=namespaces.INVOICE,
        root="Invoice",
        type_code_element="InvoiceTypeCode",
        line_element="InvoiceLine",
        quantity_element="InvoicedQuantity",
        type_code=document.invoice_type_code,
        sign=1,
    )
