"""Writes of clients, invoices and payments; the issuing steps shared with credit notes."""

import datetime
import re
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.party_rules import CURRENCIES, clean_party
from config.db import waiting_for_lock
from config.errors import InvalidState, NotFound, RuleViolation, Violations
from einvoice.readiness import check_ready_to_issue
from invoices.calculations import MAX_MONEY, ZERO, LineFigures, Totals, breakdown_to_json, price_line, summarize
from invoices.models import (
    VAT_CATEGORIES,
    VATEX_CODES,
    Client,
    Document,
    DocumentLine,
    DocumentStatus,
    Payment,
    PaymentMethod,
)
from invoices.search import search_key
from numbering.models import Series, SeriesKind
from numbering.services import allocate

RON = "RON"
# EN 16931 BR-E-10, BR-AE-10, BR-IC-10, BR-G-10, BR-O-10: these categories state why no VAT is charged.
CATEGORIES_NEEDING_EXEMPTION = ("E", "AE", "K", "G", "O")
UNIT_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
CLIENT_FIELDS = (
    "type",
    "name",
    "cui",
    "vat_code",
    "registration_number",
    "is_vat_payer",
    "address",
    "city",
    "county",
    "country",
    "postal_code",
    "email",
    "phone",
)


OPEN_INVOICE_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_PAID)


def today_in_romania() -> datetime.date:
    return timezone.localdate()  # TIME_ZONE is Europe/Bucharest


# --- clients -------------------------------------------------------------------------------------


def _clean_client(values: dict) -> dict:
    violations = Violations()
    if not (values.get("name") or "").strip():
        violations.add("name", "A client needs a name.")
    cleaned = clean_party(values, violations)
    violations.raise_if_any()
    if cleaned.get("is_vat_payer") and not cleaned.get("vat_code") and cleaned.get("cui"):
        cleaned["vat_code"] = f"RO{cleaned['cui']}" if cleaned.get("country", "RO") == "RO" else cleaned["cui"]
    return cleaned


def client_create(*, company, **fields) -> Client:
    defaults = {
        field.name: field.get_default() for field in Client._meta.concrete_fields if field.name in CLIENT_FIELDS
    }
    return Client.objects.create(company=company, **_clean_client({**defaults, **fields}))


def client_update(*, client: Client, **changes) -> Client:
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        values = _clean_client({**{field: getattr(locked, field) for field in CLIENT_FIELDS}, **changes})
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save()
        # Drafts show the live client; issued documents keep the snapshot taken at issue.
        for draft in locked.documents.filter(status=DocumentStatus.DRAFT, deleted_at__isnull=True):
            # Still a draft when written: one issued meanwhile keeps the search text of its snapshot.
            Document.objects.filter(pk=draft.pk, status=DocumentStatus.DRAFT).update(
                search_text=search_key(draft.number, locked.name, draft.reason)
            )
        return locked


def client_delete(*, client: Client) -> None:
    """Clients leave every list but stay behind the documents that name them."""
    Client.objects.filter(pk=client.pk).update(deleted_at=timezone.now())


def client_snapshot(client: Client) -> dict:
    return {field: getattr(client, field) for field in CLIENT_FIELDS}


# --- shared steps of the document services --------------------------------------------------------


def lock_documents(*documents: Document | None) -> dict[int, Document]:
    """Locks the given documents in primary-key order (one order everywhere: no deadlocks).

    A document deleted by a request that committed first is gone: NotFound, as its URL now answers.
    """
    pks = sorted({document.pk for document in documents if document is not None})
    with waiting_for_lock():
        locked = list(Document.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk"))
    found = {document.pk: document for document in locked if document.deleted_at is None}
    if len(found) != len(pks):
        raise NotFound("No such document.")
    return found


def resolve_client(
    *, company, client_id: uuid.UUID | None, violations: Violations, field: str = "clientId"
) -> Client | None:
    if client_id is None:
        violations.add(field, "A client is required.")
        return None
    client = Client.objects.filter(company=company, uuid=client_id, deleted_at__isnull=True).first()
    if client is None:
        violations.add(field, "No such client in this company.")
    return client


def resolve_series(*, company, series_id: uuid.UUID | None, kind: str, violations: Violations) -> Series | None:
    if series_id is None:
        series = Series.objects.filter(company=company, kind=kind, is_default=True).first()
        if series is None:
            violations.add("seriesId", f"The company has no default {kind.replace('_', ' ')} series.")
        return series
    series = Series.objects.filter(company=company, uuid=series_id).first()
    if series is None:
        violations.add("seriesId", "No such series in this company.")
    elif series.kind != kind:
        violations.add("seriesId", f"Series {series.name} numbers {series.kind.replace('_', ' ')}s.")
        return None
    return series


def check_currency(*, currency: str, exchange_rate: Decimal | None, violations: Violations) -> Decimal:
    """The exchange rate to store: 1 for RON, the given one (required) otherwise."""
    if currency not in CURRENCIES:
        violations.add("currency", "Not an ISO 4217 currency code.")
    if currency == RON:
        if exchange_rate is not None and exchange_rate != 1:
            violations.add("exchangeRate", "A RON document has an exchange rate of 1.")
        return Decimal("1.000000")
    if exchange_rate is None:
        violations.add("exchangeRate", f"An exchange rate to RON is required for {currency}.")
        return Decimal("1.000000")
    if exchange_rate <= 0:
        violations.add("exchangeRate", "The exchange rate must be positive.")
    return exchange_rate


def check_dates(*, issue_date, due_date, violations: Violations) -> None:
    if issue_date and due_date and due_date < issue_date:
        violations.add("dueDate", "The due date cannot be before the issue date.")


def check_vat(*, rate: Decimal, category: str | None, exemption: str, path: str, violations: Violations) -> str:
    """The line's category: S by default above 0 %; a 0 % line must name its own."""
    if category is None:
        if rate > 0:
            return "S"
        violations.add(
            f"{path}.vatCategory", f"A 0% line names its VAT category: one of {', '.join(VAT_CATEGORIES[1:])}."
        )
        return "Z"
    if category not in VAT_CATEGORIES:
        violations.add(f"{path}.vatCategory", f"One of {', '.join(VAT_CATEGORIES)}.")
    elif category == "S" and rate <= 0:
        violations.add(f"{path}.vatRate", "Category S (standard) has a rate above 0%.")
    elif category != "S" and rate != 0:
        violations.add(f"{path}.vatRate", f"Category {category} has a 0% rate.")
    elif category in CATEGORIES_NEEDING_EXEMPTION and not exemption:
        violations.add(
            f"{path}.vatExemptionReason", f"Category {category} needs an exemption reason (text or VATEX code)."
        )
    return category


def check_amounts(totals: Totals, violations: Violations, field: str = "lines") -> None:
    """Every stored figure within MAX_MONEY: lines at other rates can cancel out in the total alone."""
    figures = [totals.subtotal, totals.vat_total, totals.total]
    figures += [amount for group in totals.breakdown for amount in (group.taxable, group.vat)]
    if any(abs(amount) > MAX_MONEY for amount in figures):
        violations.add(field, f"The document's amounts cannot exceed {MAX_MONEY}.")


def price_lines(lines: list[dict], violations: Violations, *, sign: int = 1) -> list[tuple[dict, LineFigures]]:
    """Free lines (invoices, standalone credit notes) with their figures. `sign` −1 makes credit lines."""
    priced = []
    for index, line in enumerate(lines):
        path = f"lines[{index}]"
        quantity = line["quantity"]
        if quantity == 0:
            violations.add(f"{path}.quantity", "The quantity is never zero.")
            continue
        if sign < 0:
            quantity = -abs(quantity)  # the sign of a credit-note quantity is ignored on input
        unit = line.get("unit_of_measure") or "H87"
        if not UNIT_CODE.match(unit):
            violations.add(f"{path}.unitOfMeasure", "A UN/ECE recommendation 20 unit code, e.g. H87, C62, HUR.")
        discount = line.get("discount") or ZERO
        if discount > abs(quantity * line["unit_price"]):
            violations.add(f"{path}.discount", "The discount cannot exceed quantity × unit price.")
        if line.get("vat_exemption_code") and line["vat_exemption_code"] not in VATEX_CODES:
            violations.add(f"{path}.vatExemptionCode", "A VATEX code (CEF code list), e.g. VATEX-EU-O, VATEX-EU-AE.")
        exemption = line.get("vat_exemption_reason", "") or line.get("vat_exemption_code", "")
        category = check_vat(
            rate=line["vat_rate"],
            category=line.get("vat_category"),
            exemption=exemption,
            path=path,
            violations=violations,
        )
        figures = price_line(
            quantity=quantity,
            unit_price=line["unit_price"],
            discount=discount,
            vat_rate=line["vat_rate"],
            vat_category=category,
        )
        # Lines that cancel each other out would pass the document bound and still overflow their own columns.
        if abs(figures.total) > MAX_MONEY:
            violations.add(f"{path}.quantity", f"The line total cannot exceed {MAX_MONEY}.")
            continue
        row = {
            "description": line["description"],
            "quantity": quantity,
            "unit_of_measure": unit,
            "unit_price": line["unit_price"],
            "discount": discount,
            "vat_rate": line["vat_rate"],
            "vat_category": category,
            "vat_exemption_reason": line.get("vat_exemption_reason", ""),
            "vat_exemption_code": line.get("vat_exemption_code", ""),
        }
        priced.append((row, figures))
    return priced


def write_lines(document: Document, priced: list[tuple[dict, LineFigures]], totals: Totals | None = None) -> None:
    """Replaces the document's lines and stores its totals (computed from the lines unless given)."""
    totals = totals or summarize([figures for _, figures in priced])
    document.lines.all().delete()
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=document,
            position=position,
            net_amount=figures.net,
            vat_amount=figures.vat,
            line_total=figures.total,
            fixed_vat=figures.fixed_vat,
            **row,
        )
        for position, (row, figures) in enumerate(priced, start=1)
    )
    document.subtotal, document.vat_total, document.total = totals.subtotal, totals.vat_total, totals.total
    document.vat_breakdown = breakdown_to_json(totals.breakdown)
    document.save()


def refresh_search_text(document: Document) -> None:
    name = (document.client_snapshot or {}).get("name") or document.client.name
    document.search_text = search_key(document.number, name, document.reason)


def stamp_issue(document: Document) -> None:
    """The issuing steps shared by invoices and credit notes; numbers the document last.

    The caller holds the document's lock; the series is locked inside `allocate` and stays
    locked until the caller's transaction commits, so this comes last in that transaction.
    """
    if document.client.deleted_at is not None:
        raise RuleViolation.on("clientId", "The client has been deleted; choose another client.")
    if not document.lines.exists():
        raise RuleViolation.on("lines", "A document needs at least one line to be issued.")
    document.issue_date = document.issue_date or today_in_romania()
    document.due_date = document.due_date or document.issue_date
    if document.due_date < document.issue_date:
        raise RuleViolation.on("dueDate", "The due date cannot be before the issue date.")
    document.client_snapshot = client_snapshot(document.client)
    check_ready_to_issue(document, document.client_snapshot)
    document.number = allocate(series=document.series, issue_date=document.issue_date)
    refresh_search_text(document)
    document.save()


def settle_invoice_status(invoice: Document) -> None:
    if invoice.amount_paid <= 0:
        invoice.status = DocumentStatus.ISSUED
    elif invoice.amount_paid < invoice.total:
        invoice.status = DocumentStatus.PARTIALLY_PAID
    else:
        invoice.status = DocumentStatus.PAID


def require_draft(document: Document, action: str) -> None:
    if document.status != DocumentStatus.DRAFT:
        raise InvalidState(f"Only drafts can be {action}; this document is {document.status}.")


# --- invoices ------------------------------------------------------------------------------------


def _invoice_values(*, company, values: dict) -> tuple[dict, list]:
    violations = Violations()
    client = resolve_client(company=company, client_id=values.get("client_id"), violations=violations)
    series = resolve_series(
        company=company, series_id=values.get("series_id"), kind=SeriesKind.INVOICE, violations=violations
    )
    currency = values.get("currency") or company.currency
    exchange_rate = check_currency(currency=currency, exchange_rate=values.get("exchange_rate"), violations=violations)
    check_dates(issue_date=values.get("issue_date"), due_date=values.get("due_date"), violations=violations)
    lines = values.get("lines") or []
    if not lines:
        violations.add("lines", "An invoice needs at least one line.")
    priced = price_lines(lines, violations)
    totals = summarize([figures for _, figures in priced])
    if totals.total < 0:
        violations.add("lines", "An invoice total cannot be negative; issue a credit note instead.")
    check_amounts(totals, violations)
    violations.raise_if_any()
    fields = {
        "client": client,
        "series": series,
        "currency": currency,
        "exchange_rate": exchange_rate,
        "issue_date": values.get("issue_date"),
        "due_date": values.get("due_date"),
        "notes": values.get("notes", ""),
        "internal_notes": values.get("internal_notes", ""),
    }
    return fields, priced


def invoice_create(*, company, user=None, issue: bool = False, **values) -> Document:
    with transaction.atomic():
        fields, priced = _invoice_values(company=company, values=values)
        document = Document(company=company, is_credit_note=False, invoice_type_code="380", created_by=user, **fields)
        refresh_search_text(document)
        document.save()
        write_lines(document, priced)
        if issue:
            invoice_issue(document=document)
            document.refresh_from_db()
        return document


def line_as_input(line: DocumentLine, *, sign: int = 1) -> dict:
    """A stored line as the create body's line it came from (`sign` −1 turns a credit line back)."""
    return {
        "description": line.description,
        "quantity": sign * line.quantity,
        "unit_of_measure": line.unit_of_measure,
        "unit_price": line.unit_price,
        "discount": line.discount,
        "vat_rate": line.vat_rate,
        "vat_category": line.vat_category,
        "vat_exemption_reason": line.vat_exemption_reason,
        "vat_exemption_code": line.vat_exemption_code,
    }


def invoice_draft_values(document: Document) -> dict:
    """The draft as the create body it came from, for PATCH to merge into."""
    return {
        "client_id": document.client.uuid,
        "series_id": document.series.uuid,
        "currency": document.currency,
        "exchange_rate": document.exchange_rate,
        "issue_date": document.issue_date,
        "due_date": document.due_date,
        "notes": document.notes,
        "internal_notes": document.internal_notes,
        "lines": [line_as_input(line) for line in document.lines.all()],
    }


def invoice_update(*, document: Document, changes: dict, replace: bool = False) -> Document:
    """PATCH merges `changes` into the draft; PUT (`replace`) takes them as the whole create body."""
    with transaction.atomic():
        locked = lock_documents(document)[document.pk]
        require_draft(locked, "edited")
        values = changes if replace else {**invoice_draft_values(locked), **changes}
        if values.get("currency") != locked.currency and "exchange_rate" not in changes:
            values.pop("exchange_rate", None)
        fields, priced = _invoice_values(company=locked.company, values=values)
        for field, value in fields.items():
            setattr(locked, field, value)
        refresh_search_text(locked)
        if replace or "lines" in changes:
            write_lines(locked, priced)
        else:
            locked.save()  # the lines, their ids and the totals stay as they are
        return locked


def draft_delete(*, document: Document) -> None:
    with transaction.atomic():
        locked = lock_documents(document)[document.pk]
        require_draft(locked, "deleted")
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at", "updated_at"])


def invoice_issue(*, document: Document) -> Document:
    with transaction.atomic():
        invoice = lock_documents(document)[document.pk]
        require_draft(invoice, "issued")
        invoice.status = DocumentStatus.ISSUED
        stamp_issue(invoice)
        return invoice


def payment_record(
    *,
    document: Document,
    amount: Decimal,
    date: datetime.date | None = None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    user=None,
) -> Payment:
    with transaction.atomic():
        invoice = lock_documents(document)[document.pk]
        if invoice.is_credit_note:
            raise RuleViolation.on("amount", "Payments are recorded on invoices; a credit note is refunded.")
        if invoice.status not in OPEN_INVOICE_STATUSES:
            raise InvalidState(f"Payments are recorded on issued, unpaid invoices; this one is {invoice.status}.")
        if amount <= 0:
            raise RuleViolation.on("amount", "The amount must be positive.")
        if amount > invoice.outstanding:
            raise RuleViolation.on("amount", f"Cannot pay more than the outstanding {invoice.outstanding}.")
        payment = Payment.objects.create(
            document=invoice,
            amount=amount,
            date=date or today_in_romania(),
            method=method,
            reference=reference,
            created_by=user,
        )
        invoice.amount_paid += amount
        settle_invoice_status(invoice)
        invoice.save(update_fields=["amount_paid", "status", "updated_at"])
        return payment
