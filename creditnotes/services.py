"""Credit notes: create (from an invoice or standalone), preview, issue, apply, refund, void.

Every bound is checked under row locks taken in primary-key order; the cap on what an invoice
can still be credited is checked again at issue, under the invoice's lock.
"""

import uuid
from decimal import Decimal

from django.db import transaction

from accounts.models import CREDIT_NOTE_TYPE_CODES
from config.errors import InvalidState, RuleViolation, Violations
from creditnotes.crediting import (
    ByAmount,
    ByLine,
    CreditedLine,
    CreditFigures,
    ParentLine,
    PriorNote,
    Remaining,
    amount_line,
    credit_figures,
    full_credit_items,
    remaining_creditable,
)
from creditnotes.models import CreditApplication, Refund
from invoices.calculations import VatGroup, breakdown_from_json, breakdown_to_json, summarize, tax_key
from invoices.models import (
    ISSUED_INVOICE_STATUSES,
    Direction,
    Document,
    DocumentLine,
    DocumentStatus,
    PaymentMethod,
)
from invoices.services import (
    OPEN_INVOICE_STATUSES,
    check_amounts,
    check_currency,
    check_dates,
    check_vat,
    invoice_issue,
    invoice_update,
    line_as_input,
    lock_documents,
    price_lines,
    refresh_search_text,
    require_draft,
    resolve_client,
    resolve_series,
    settle_invoice_status,
    stamp_issue,
    today_in_romania,
    write_lines,
)
from numbering.models import SeriesKind

OPEN_NOTE_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_APPLIED)


# --- what an invoice has left to credit ----------------------------------------------------------------


def _parent_lines(parent: Document) -> list[ParentLine]:
    return [
        ParentLine(
            id=line.pk,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            vat_rate=line.vat_rate,
            vat_category=line.vat_category,
            net=line.net_amount,
            vat=line.vat_amount,
        )
        for line in parent.lines.all()
    ]


def _prior_notes(parent: Document, *, excluding: Document | None = None) -> list[PriorNote]:
    notes = (
        Document.objects.filter(parent_document=parent, is_credit_note=True, deleted_at__isnull=True)
        .exclude(status=DocumentStatus.DRAFT)
        .prefetch_related("lines")
    )
    if excluding is not None:
        notes = notes.exclude(pk=excluding.pk)
    prior = []
    for note in notes:
        if note.status == DocumentStatus.VOIDED:
            prior.append(PriorNote(live=False, consumed_total=note.applied_amount + note.refunded_amount))
            continue
        prior.append(
            PriorNote(
                live=True,
                consumed_total=-note.total,
                lines=tuple(
                    CreditedLine(
                        parent_line_id=line.parent_line_id,
                        quantity=-line.quantity,
                        net=-line.net_amount,
                        vat=-line.vat_amount,
                        discount=line.discount,
                    )
                    for line in note.lines.all()
                    if line.parent_line_id is not None
                ),
                breakdown=tuple(
                    VatGroup(vat_rate=g.vat_rate, vat_category=g.vat_category, taxable=-g.taxable, vat=-g.vat)
                    for g in breakdown_from_json(note.vat_breakdown)
                ),
            )
        )
    return prior


def remaining_of(parent: Document, *, excluding: Document | None = None) -> tuple[list[ParentLine], Remaining]:
    parent_lines = _parent_lines(parent)
    remaining = remaining_creditable(
        parent_lines=parent_lines,
        parent_breakdown=breakdown_from_json(parent.vat_breakdown),
        parent_total=parent.total,
        prior_notes=_prior_notes(parent, excluding=excluding),
    )
    return parent_lines, remaining


def invoice_creditable(*, invoice: Document) -> tuple[Document, Remaining]:
    """What can still be credited, read under the invoice's lock so it is one consistent state."""
    with transaction.atomic():
        locked = lock_documents(invoice)[invoice.pk]
        problems = Violations()
        _check_creditable(locked, problems, "id")
        problems.raise_if_any()
        _, remaining = remaining_of(locked)
        return locked, remaining


def _check_creditable(parent: Document, violations: Violations, field: str) -> None:
    if parent.is_credit_note:
        violations.add(field, "A credit note cannot be credited; credit the invoice.")
    elif parent.direction != Direction.OUTGOING:
        violations.add(field, "Only outgoing invoices can be credited.")
    elif parent.status not in ISSUED_INVOICE_STATUSES:
        violations.add(field, f"Only issued invoices can be credited; this one is {parent.status}.")


# --- composing a credit note ------------------------------------------------------------------------------


def _requested_items(*, parent: Document, parent_lines, remaining, values: dict, violations: Violations) -> list:
    lines, amount = values.get("lines"), values.get("amount")
    if lines and amount is not None:
        violations.add("amount", "Credit by lines or by amount, not both.")
        return []
    if lines:
        by_uuid = {line.uuid: line.pk for line in parent.lines.all()}
        items = []
        for index, line in enumerate(lines):
            pk = by_uuid.get(line.get("parent_line_id"))
            if pk is None:
                violations.add(f"lines[{index}].parentLineId", "Not a line of the credited invoice.")
                continue
            items.append(ByLine(parent_line_id=pk, quantity=abs(line["quantity"])))
        return items
    if amount is not None:
        rate, category = values.get("vat_rate"), values.get("vat_category")
        groups = [g for g in remaining.groups.values() if rate is None or g.key[0] == tax_key(rate, "S")[0]]
        if category is not None:
            groups = [g for g in groups if g.vat_category == category]
        if len(groups) != 1:
            field = "vatRate" if rate is None or not groups else "vatCategory"
            rates = ", ".join(f"{g.vat_rate}% {g.vat_category}" for g in remaining.groups.values())
            violations.add(field, f"Name the VAT rate (and category) to credit at; the invoice has {rates}.")
            return []
        return [ByAmount(vat_rate=groups[0].vat_rate, vat_category=groups[0].vat_category, gross=abs(amount))]
    return full_credit_items(parent_lines=parent_lines, remaining=remaining)


def _draft_items(note: Document) -> list:
    return [
        ByLine(parent_line_id=line.parent_line_id, quantity=abs(line.quantity))
        if line.parent_line_id is not None
        else ByAmount(vat_rate=line.vat_rate, vat_category=line.vat_category, gross=-line.line_total)
        for line in note.lines.all()
    ]


def _credit_rows(parent: Document, figures: CreditFigures) -> list[tuple[dict, object]]:
    sources = {line.pk: line for line in parent.lines.all()}
    by_key = {}
    for line in sources.values():
        by_key.setdefault(tax_key(line.vat_rate, line.vat_category), line)
    rows = []
    for credit in figures.lines:
        if isinstance(credit.item, ByLine):
            source = sources[credit.item.parent_line_id]
            description, unit = source.description, source.unit_of_measure
        else:
            source = by_key[credit.figures.key]
            description = f"Credit on {parent.number} at {credit.figures.vat_rate}% VAT"
            unit = "C62"
        rows.append(
            (
                {
                    "description": description,
                    "quantity": credit.quantity,
                    "unit_of_measure": unit,
                    "unit_price": credit.unit_price,
                    "discount": credit.discount,
                    "vat_rate": credit.figures.vat_rate,
                    "vat_category": credit.figures.vat_category,
                    "vat_exemption_reason": source.vat_exemption_reason,
                    "vat_exemption_code": source.vat_exemption_code,
                    "parent_line": source if isinstance(credit.item, ByLine) else None,
                },
                credit.figures,
            )
        )
    return rows


def _standalone_rows(values: dict, violations: Violations) -> list:
    lines, amount = values.get("lines"), values.get("amount")
    if lines and amount is not None:
        violations.add("amount", "Give lines or an amount, not both.")
        return []
    if lines:
        return price_lines(lines, violations, sign=-1)
    if amount is None:
        violations.add("lines", "A credit note needs lines or an amount.")
        return []
    rate = values.get("vat_rate")
    if rate is None:
        violations.add("vatRate", "A credit by amount names its VAT rate.")
        return []
    exemption = values.get("vat_exemption_reason", "")
    category = check_vat(
        rate=rate, category=values.get("vat_category"), exemption=exemption, path="amount", violations=violations
    )
    if abs(amount) == 0:
        violations.add("amount", "The amount to credit must be positive.")
        return []
    figures = amount_line(gross=abs(amount), vat_rate=rate, vat_category=category)
    row = {
        "description": (values.get("reason") or "Credit")[:200],
        "quantity": Decimal(-1),
        "unit_of_measure": "C62",
        "unit_price": -figures.net,
        "discount": Decimal("0.00"),
        "vat_rate": rate,
        "vat_category": category,
        "vat_exemption_reason": exemption,
        "vat_exemption_code": "",
    }
    return [(row, figures)]


def _credit_note_values(*, company, values: dict, draft: Document | None = None):
    """Everything a credit note is made of, validated; every violation collected before failing."""
    violations = Violations()
    parent = values.get("parent")
    if not (values.get("reason") or "").strip():
        violations.add("reason", "A credit note states its reason.")
    if parent is not None:
        parent_problems = Violations()
        _check_creditable(parent, parent_problems, "parentDocumentId")
        parent_problems.raise_if_any()  # nothing else can be checked against an invoice that cannot be credited
        client = parent.client
        if values.get("client_id") not in (None, client.uuid):
            violations.add("clientId", "A credit note is for its invoice's client.")
        if values.get("currency") not in (None, parent.currency):
            violations.add("currency", f"A credit note is in its invoice's currency ({parent.currency}).")
        currency = parent.currency
        rate = values.get("exchange_rate")
        exchange_rate = check_currency(
            currency=currency, exchange_rate=parent.exchange_rate if rate is None else rate, violations=violations
        )
        parent_lines, remaining = remaining_of(parent, excluding=draft)
        item_problems = Violations()
        items = values.get("items")
        if items is None:
            items = _requested_items(
                parent=parent, parent_lines=parent_lines, remaining=remaining, values=values, violations=item_problems
            )
        rows, totals = [], summarize([])
        if not item_problems:
            figures = credit_figures(parent_lines=parent_lines, remaining=remaining, items=items)
            item_problems = figures.violations
            rows, totals = _credit_rows(parent, figures), figures.totals
        violations.merge(item_problems)
        issue_date = values.get("issue_date")
        if issue_date and issue_date < parent.issue_date:
            violations.add("issueDate", f"A credit note cannot predate its invoice ({parent.issue_date}).")
    else:
        client = resolve_client(company=company, client_id=values.get("client_id"), violations=violations)
        currency = values.get("currency") or company.currency
        exchange_rate = check_currency(
            currency=currency, exchange_rate=values.get("exchange_rate"), violations=violations
        )
        rows = _standalone_rows(values, violations)
        totals = summarize([figures for _, figures in rows])
    series = resolve_series(
        company=company, series_id=values.get("series_id"), kind=SeriesKind.CREDIT_NOTE, violations=violations
    )
    check_dates(issue_date=values.get("issue_date"), due_date=values.get("due_date"), violations=violations)
    check_amounts(totals, violations)
    violations.raise_if_any()
    fields = {
        "parent_document": parent,
        "client": client,
        "series": series,
        "currency": currency,
        "exchange_rate": exchange_rate,
        "issue_date": values.get("issue_date"),
        "due_date": values.get("due_date"),
        "reason": values["reason"].strip(),
        "notes": values.get("notes", ""),
        "internal_notes": values.get("internal_notes", ""),
        "auto_apply": values.get("auto_apply", True),
        "invoice_type_code": values.get("invoice_type_code") or CREDIT_NOTE_TYPE_CODES[company.credit_note_format],
    }
    return fields, rows, totals


def resolve_parent(*, company, parent_id: uuid.UUID | None) -> Document | None:
    if parent_id is None:
        return None
    parent = Document.objects.filter(company=company, uuid=parent_id, deleted_at__isnull=True).first()
    if parent is None:
        raise RuleViolation.on("parentDocumentId", "No such invoice in this company.")
    return parent


def credit_note_create(
    *, company, user=None, parent: Document | None = None, issue: bool = False, **values
) -> Document:
    """A credit note, from `parent` (or `parent_id`) or standalone; issued at once with `issue`."""
    with transaction.atomic():
        parent = parent or resolve_parent(company=company, parent_id=values.pop("parent_id", None))
        values.pop("parent_id", None)
        if parent is not None:
            parent = lock_documents(parent)[parent.pk]
        fields, rows, totals = _credit_note_values(company=company, values={**values, "parent": parent})
        note = Document(company=company, is_credit_note=True, created_by=user, **fields)
        refresh_search_text(note)
        note.save()
        write_lines(note, rows, totals)
        if issue:
            credit_note_issue(document=note, user=user)
            note.refresh_from_db()
        return note


class _Preview(Exception):
    def __init__(self, document):
        self.document = document


def credit_note_preview(*, company, load, **values) -> Document:
    """The note `credit_note_create` would make, computed by that same code and rolled back.

    `load(document)` reads it back (with its lines and relations) before the rollback.
    """
    values.pop("issue", None)
    try:
        with transaction.atomic():
            note = credit_note_create(company=company, **values)
            raise _Preview(load(note))
    except _Preview as preview:
        return preview.document


def invoice_credit(*, invoice: Document, user=None, reason: str | None = None, **values) -> Document:
    """POST /invoices/{id}/credit: everything not yet credited, or the given lines, or an amount."""
    default_reason = f"Storno of invoice {invoice.number}" if invoice.number else ""
    return credit_note_create(
        company=invoice.company, user=user, parent=invoice, reason=reason or default_reason, **values
    )


def credit_note_draft_values(note: Document) -> dict:
    values = {
        "client_id": note.client.uuid,
        "series_id": note.series.uuid,
        "currency": note.currency,
        "exchange_rate": note.exchange_rate,
        "issue_date": note.issue_date,
        "due_date": note.due_date,
        "reason": note.reason,
        "notes": note.notes,
        "internal_notes": note.internal_notes,
        "auto_apply": note.auto_apply,
        "invoice_type_code": note.invoice_type_code,
    }
    lines = list(note.lines.all())
    if note.parent_document_id is not None:
        values["items"] = _draft_items(note)
    elif len(lines) == 1 and lines[0].fixed_vat:
        # A credit by amount stays one: its VAT is amount − net, which re-pricing the line would lose.
        values.update(
            amount=-lines[0].line_total,
            vat_rate=lines[0].vat_rate,
            vat_category=lines[0].vat_category,
            vat_exemption_reason=lines[0].vat_exemption_reason,
        )
    else:
        values["lines"] = [line_as_input(line, sign=-1) for line in lines]
    return values


def credit_note_update(*, document: Document, changes: dict, replace: bool = False) -> Document:
    with transaction.atomic():
        locked = lock_documents(document, document.parent_document)
        note = locked[document.pk]
        require_draft(note, "edited")
        if "parent_id" in changes and changes["parent_id"] != getattr(note.parent_document, "uuid", None):
            raise RuleViolation.on("parentDocumentId", "A draft keeps its invoice; create a new credit note instead.")
        changes = {key: value for key, value in changes.items() if key != "parent_id"}
        if replace:
            values = changes
        else:
            values = {**credit_note_draft_values(note), **changes}
            if "lines" in changes or "amount" in changes:
                # What to credit is replaced as a whole: new lines drop the old amount and vice versa.
                values.pop("items", None)
                values.pop("amount" if "lines" in changes else "lines", None)
        parent = locked.get(note.parent_document_id)
        fields, rows, totals = _credit_note_values(
            company=note.company, values={**values, "parent": parent}, draft=note
        )
        for field, value in fields.items():
            setattr(note, field, value)
        refresh_search_text(note)
        if replace or "lines" in changes or "amount" in changes:
            write_lines(note, rows, totals)
        else:
            note.save()  # the lines keep their ids; a note on an invoice is re-derived at issue anyway
        return note


# --- issuing and settling ------------------------------------------------------------------------------


def credit_note_issue(*, document: Document, auto_apply: bool | None = None, user=None) -> Document:
    with transaction.atomic():
        locked = lock_documents(document, document.parent_document)
        note = locked[document.pk]
        require_draft(note, "issued")
        note.issue_date = note.issue_date or today_in_romania()
        parent = locked.get(note.parent_document_id)
        if parent is not None:
            _recompute_under_lock(note, parent)
        note.status = DocumentStatus.ISSUED
        if (note.auto_apply if auto_apply is None else auto_apply) and parent is not None:
            amount = min(note.remaining_credit, parent.outstanding)
            if parent.status in OPEN_INVOICE_STATUSES and amount > 0:
                _apply(note=note, invoice=parent, amount=amount, user=user)
        stamp_issue(note)
        return note


def _recompute_under_lock(note: Document, parent: Document) -> None:
    """The final cap: the note's figures against what the invoice has left now, under its lock.

    A note drafted before others were issued may now be the one that exhausts a line or a rate,
    so its figures are derived again; over-crediting fails here whatever the draft said.
    """
    violations = Violations()
    _check_creditable(parent, violations, "parentDocumentId")
    if note.issue_date < parent.issue_date:
        violations.add("issueDate", f"A credit note cannot predate its invoice ({parent.issue_date}).")
    violations.raise_if_any()
    parent_lines, remaining = remaining_of(parent, excluding=note)
    figures = credit_figures(parent_lines=parent_lines, remaining=remaining, items=_draft_items(note))
    figures.violations.raise_if_any("This credit note exceeds what the invoice has left to credit.")
    lines = list(note.lines.all())
    for line, credit in zip(lines, figures.lines, strict=True):
        line.quantity, line.unit_price, line.discount = credit.quantity, credit.unit_price, credit.discount
        line.net_amount, line.vat_amount, line.line_total = credit.figures.net, credit.figures.vat, credit.figures.total
    DocumentLine.objects.bulk_update(
        lines, ["quantity", "unit_price", "discount", "net_amount", "vat_amount", "line_total"]
    )
    totals = figures.totals
    note.subtotal, note.vat_total, note.total = totals.subtotal, totals.vat_total, totals.total
    note.vat_breakdown = breakdown_to_json(totals.breakdown)


def settle_note_status(note: Document) -> None:
    used = note.applied_amount + note.refunded_amount
    if used <= 0:
        note.status = DocumentStatus.ISSUED
    elif used < -note.total:
        note.status = DocumentStatus.PARTIALLY_APPLIED
    else:
        note.status = DocumentStatus.APPLIED


def _apply(*, note: Document, invoice: Document, amount: Decimal, user) -> CreditApplication:
    """Both rows are locked by the caller, who saves the note (an issuing note is saved with its number)."""
    application = CreditApplication.objects.create(credit_note=note, invoice=invoice, amount=amount, created_by=user)
    note.applied_amount += amount
    settle_note_status(note)
    invoice.amount_paid += amount
    settle_invoice_status(invoice)
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])
    return application


def _require_open(note: Document, action: str) -> None:
    if note.status not in OPEN_NOTE_STATUSES:
        raise InvalidState(f"Only issued credit notes with credit left can be {action}; this one is {note.status}.")


def credit_note_apply(
    *, document: Document, invoice_id: uuid.UUID, amount: Decimal | None = None, user=None
) -> CreditApplication:
    """Applies credit to an invoice of the same client and currency: min(remaining, outstanding) by default."""
    target = Document.objects.filter(company=document.company, uuid=invoice_id, deleted_at__isnull=True).first()
    with transaction.atomic():
        if target is None:
            _require_open(lock_documents(document)[document.pk], "applied")
            raise RuleViolation.on("invoiceId", "No such invoice in this company.")
        locked = lock_documents(document, target)
        note, invoice = locked[document.pk], locked[target.pk]
        _require_open(note, "applied")
        violations = Violations()
        if invoice.is_credit_note:
            violations.add("invoiceId", "Credit is applied to invoices, not to credit notes.")
        elif invoice.status not in OPEN_INVOICE_STATUSES:
            violations.add(
                "invoiceId", f"The invoice must be issued with a balance outstanding; it is {invoice.status}."
            )
        elif invoice.client_id != note.client_id:
            violations.add("invoiceId", "The invoice is for another client.")
        elif invoice.currency != note.currency:
            violations.add("invoiceId", f"The invoice is in {invoice.currency}, the credit note in {note.currency}.")
        violations.raise_if_any()
        cap = min(note.remaining_credit, invoice.outstanding)
        amount = cap if amount is None else amount
        if amount <= 0:
            raise RuleViolation.on("amount", "The amount to apply must be positive.")
        if amount > note.remaining_credit:
            raise RuleViolation.on("amount", f"Cannot apply more than the remaining credit {note.remaining_credit}.")
        if amount > invoice.outstanding:
            raise RuleViolation.on("amount", f"Cannot apply more than the invoice's outstanding {invoice.outstanding}.")
        application = _apply(note=note, invoice=invoice, amount=amount, user=user)
        note.save(update_fields=["applied_amount", "status", "updated_at"])
        return application


def credit_note_refund(
    *,
    document: Document,
    amount: Decimal | None = None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    user=None,
) -> Refund:
    with transaction.atomic():
        note = lock_documents(document)[document.pk]
        if not note.is_credit_note:
            raise RuleViolation.on("amount", "Only credit notes are refunded.")
        _require_open(note, "refunded")
        amount = note.remaining_credit if amount is None else amount
        if amount <= 0:
            raise RuleViolation.on("amount", "The amount to refund must be positive.")
        if amount > note.remaining_credit:
            raise RuleViolation.on("amount", f"Cannot refund more than the remaining credit {note.remaining_credit}.")
        refund = Refund.objects.create(
            credit_note=note, amount=amount, method=method, reference=reference, created_by=user
        )
        note.refunded_amount += amount
        settle_note_status(note)
        note.save(update_fields=["refunded_amount", "status", "updated_at"])
        return refund


def credit_note_void(*, document: Document) -> Document:
    """Cancels the remaining credit; what was applied or refunded stays in effect. Never undone."""
    with transaction.atomic():
        note = lock_documents(document, document.parent_document)[document.pk]
        if not note.is_credit_note:
            raise InvalidState("Only credit notes are voided; an invoice is corrected by a credit note.")
        if note.status not in (DocumentStatus.DRAFT, *OPEN_NOTE_STATUSES):
            raise InvalidState(
                f"Only draft, issued or partially applied notes can be voided; this one is {note.status}."
            )
        note.status = DocumentStatus.VOIDED
        note.save(update_fields=["status", "updated_at"])
        return note


# --- the generic /invoices/{id} endpoints serve both kinds ---------------------------------------------


def document_update(*, document: Document, changes: dict, replace: bool = False) -> Document:
    if document.is_credit_note:
        return credit_note_update(document=document, changes=changes, replace=replace)
    return invoice_update(document=document, changes=changes, replace=replace)


def document_issue(*, document: Document, auto_apply: bool | None = None, user=None) -> Document:
    if document.is_credit_note:
        return credit_note_issue(document=document, auto_apply=auto_apply, user=user)
    if auto_apply is not None:
        raise RuleViolation.on("autoApply", "autoApply is for credit notes; an invoice is issued without it.")
    return invoice_issue(document=document)
