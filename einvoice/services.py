"""The e-invoice outbox: a document's submission to ANAF is written in the request's transaction, and the worker
is asked to take it only once that transaction commits."""

import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import InvalidState
from einvoice import sync
from einvoice.models import STANDING_STATES, EInvoiceEvent, EInvoiceSubmission, EventKind
from einvoice.ubl.builder import build
from einvoice.ubl.forms import CREDIT_NOTE_TYPE_CODE
from invoices.models import AnafStatus, Document, DocumentStatus
from invoices.selectors import TRANSMISSION_DAYS
from invoices.services import lock_documents


def deadline_of(document: Document) -> datetime.date:
    return document.issue_date + datetime.timedelta(days=TRANSMISSION_DAYS)


def standard_of(document: Document) -> str:
    """ANAF's upload `standard`: CN for a UBL CreditNote (381), UBL for invoices and 380 storno invoices."""
    return "CN" if document.is_credit_note and document.invoice_type_code == CREDIT_NOTE_TYPE_CODE else "UBL"


def standing_submission(document: Document) -> EInvoiceSubmission | None:
    return EInvoiceSubmission.objects.filter(document=document, state__in=STANDING_STATES).first()


def latest_submission(document: Document) -> EInvoiceSubmission | None:
    return EInvoiceSubmission.objects.filter(document=document).order_by("-created_at", "-pk").first()


def submission_queue(*, document: Document) -> tuple[EInvoiceSubmission, bool]:
    """The document's submission, and whether this call created it.

    A document on its way to ANAF, or accepted by it, keeps its submission: asking again answers that one.
    After a rejection (or a failure to deliver) a new one is made from the document as it is now.
    """

    with transaction.atomic():
        locked = lock_documents(document)[document.pk]
        if locked.status == DocumentStatus.DRAFT:
            raise InvalidState("A draft is not sent to ANAF: issue it first.")
        existing = standing_submission(locked)
        if existing is not None:
            return existing, False
        submission = EInvoiceSubmission.objects.create(
            company=locked.company,
            document=locked,
            standard=standard_of(locked),
            xml=build(locked),
            deadline=deadline_of(locked),
            next_attempt_at=timezone.now(),
        )
        EInvoiceEvent.objects.create(
            submission=submission, kind=EventKind.QUEUED, detail={"standard": submission.standard}
        )
        sync.mirror(submission)
        transaction.on_commit(lambda: sync.hand_over(submission.pk))
        return submission, True


def submission_status(document: Document, *, redrive: bool = False) -> dict:
    """GET …/einvoice: the latest submission, or what a document never submitted shows. With `redrive`, a
    submission whose step is overdue is handed to a worker again (the embedded default has no beat)."""
    submission = latest_submission(document)
    if submission is not None and redrive:
        sync.redrive_if_stalled(submission.pk)
    if submission is None:
        return {
            "anafStatus": AnafStatus.NOT_SUBMITTED,
            "uploadIndex": None,
            "downloadId": "",
            "errors": [],
            "deadline": deadline_of(document) if document.issue_date else None,
            "events": [],
        }
    return {
        "anafStatus": submission.state,
        "uploadIndex": submission.upload_index,
        "downloadId": submission.download_id,
        "errors": submission.errors,
        "deadline": submission.deadline,
        "events": [{"kind": event.kind, "at": event.at, "detail": event.detail} for event in submission.events.all()],
    }
