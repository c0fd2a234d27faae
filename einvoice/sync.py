"""The worker's side of the outbox: moves a submission `queued → uploaded → validated | rejected | error`, one step
at a time, and never loses or duplicates an upload.

- A step starts by taking a lease on the submission (an UPDATE that only one worker can win), so a task
  delivered twice, or re-driven by the sweeper while a worker still runs it, does nothing the second time. A
  worker that dies leaves a lease that expires, and the sweeper re-drives the submission.
- An upload writes, and commits, its `upload` event *before* the request leaves. An upload event without an
  answer (the worker died, or the connection dropped after the body was sent) is never followed by another
  upload: the submission is reconciled through ANAF's message list first, and uploaded again only once ANAF
  has had time to list it and has not.
- Polls back off, within ANAF's 100 status calls per message per day; the answer is downloaded once and kept.
- Every call to ANAF goes through the shared rate limiter, and failures retry with capped exponential backoff
  and jitter, below the broker's visibility timeout.
"""

import datetime
import logging
import random
import re
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from lxml import etree

from config.db import waiting_for_lock
from config.errors import ApplicationError
from einvoice import ratelimit, validation
from einvoice.anaf.client import (
    AmbiguousUpload,
    AnafClient,
    AnafError,
    DailyLimitReached,
    MessageFilter,
    RetryableError,
    State,
    TerminalError,
    Unauthorized,
)
from einvoice.models import ACTIVE_STATES, EInvoiceEvent, EInvoiceSubmission, EventKind
from einvoice.provider import anaf_client
from invoices.models import AnafStatus, Document

logger = logging.getLogger(__name__)

FIRST_POLL_SECONDS = 2.0
# ANAF allows 100 status calls per message per day: the doubling reaches this after 9 calls, 85 more fill a day.
MAX_POLL_SECONDS = 1000.0
ANSWER_CHARS = 4000  # of a raw answer kept in an event
MAX_LIST_DAYS = 60  # the simple list's reach
SENT_INVOICE = "FACTURA TRIMISA"  # a message for an invoice we sent and ANAF accepted
CLOCK_MARGIN = datetime.timedelta(minutes=2)
# ANAF's answer to a document it already has (reference §1.11).
DUPLICATE = re.compile(r"a mai fost transmisa anterior cu index=(\d+)")


def advance(submission_id: int) -> float | None:
    """One step of one submission. Seconds until its next step, or None when it needs none from this caller
    (it is final, not due yet, or another worker holds it)."""
    submission = _claim(submission_id)
    if submission is None:
        return None
    delay = None
    try:
        try:
            client = anaf_client(submission.company)
        except (ApplicationError, AnafError) as error:  # not authorized at ANAF, or the refresh refused
            _event(submission, EventKind.ERROR, {"step": "authorize", "error": str(error)})
            delay = _retry(submission, error)
        else:
            with client:
                delay = _step(submission, client)
    finally:
        _release(submission, delay)
    return delay


def due_submissions():
    """What the sweeper re-drives: active submissions whose next attempt is due and that no worker holds."""
    now = timezone.now()
    return EInvoiceSubmission.objects.filter(state__in=ACTIVE_STATES, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def redrive_if_stalled(submission_id: int) -> None:
    """The embedded default has no beat: looking at a stalled submission (its process ended mid-sync) re-drives it."""
    if settings.CELERY_TASK_ALWAYS_EAGER and due_submissions().filter(pk=submission_id).exists():
        hand_over(submission_id)


def hand_over(submission_id: int) -> None:
    """`dispatch`, from a request: the submission is stored whatever happens here, and a broker that cannot take
    the task now must not turn the request into an error — the sweeper finds the submission due and dispatches it."""
    try:
        dispatch(submission_id)
    except Exception:
        logger.warning("Submission %s not handed to a worker now; the sweeper will", submission_id, exc_info=True)


def dispatch(submission_id: int, delay: float = 0.0) -> None:
    """Asks a worker to advance the submission in `delay` seconds.

    With a broker, a Celery task; in the embedded default (no REDIS_URL) a thread of this process that runs the
    same steps one after another, sleeping between them, so a sync completes with no other process running.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_run_in_process, args=(submission_id, delay), daemon=True).start()
    else:
        from einvoice.tasks import sync_submission

        sync_submission.apply_async((submission_id,), countdown=delay)


def _run_in_process(submission_id: int, delay: float) -> None:
    try:
        while delay is not None:
            time.sleep(delay)
            delay = advance(submission_id)
    except Exception:
        logger.exception("e-invoice sync of submission %s stopped; the sweeper will take it up", submission_id)
    finally:
        connection.close()


def _claim(submission_id: int) -> EInvoiceSubmission | None:
    close_old_connections()
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=settings.EINVOICE_LEASE_SECONDS)
    won = (
        EInvoiceSubmission.objects.filter(pk=submission_id, state__in=ACTIVE_STATES, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=lease)
    )
    if not won:
        return None
    submission = EInvoiceSubmission.objects.select_related("company", "document").get(pk=submission_id)
    submission.claimed_until = lease  # the database's value, to the microsecond: _release matches on it
    return submission


# What a step changes; the release writes these and nothing else.
STEP_FIELDS = (
    "state",
    "upload_index",
    "uploaded_at",
    "download_id",
    "errors",
    "signed_zip",
    "attempts",
    "polls",
    "next_attempt_at",
    "claimed_until",
)


def _release(submission: EInvoiceSubmission, delay: float | None) -> None:
    """Writes the step's outcome only while this worker still holds its lease: a step that outlived it (and was
    re-driven meanwhile) must not overwrite what the worker that took over wrote."""
    lease = submission.claimed_until
    submission.claimed_until = None
    if submission.state not in ACTIVE_STATES:
        submission.next_attempt_at = None
    else:
        # No delay from a step still active means it raised: try again after the longest wait rather than never.
        wait = settings.EINVOICE_RETRY_CAP_SECONDS if delay is None else delay
        submission.next_attempt_at = timezone.now() + datetime.timedelta(seconds=wait)
    # The document's UPDATE may wait behind a service holding its lock: no statement timeout cancels that.
    with transaction.atomic(), waiting_for_lock():
        written = EInvoiceSubmission.objects.filter(pk=submission.pk, claimed_until=lease).update(
            **{field: getattr(submission, field) for field in STEP_FIELDS}, updated_at=timezone.now()
        )
        if written:
            mirror(submission)
        else:
            logger.warning("Submission %s: the step outlived its lease; its outcome is dropped", submission.pk)


def _step(submission: EInvoiceSubmission, client: AnafClient) -> float | None:
    if submission.state == AnafStatus.UPLOADED:
        return _poll(submission, client)
    answered = submission.events.filter(kind=EventKind.UPLOAD, detail__outcome__in=["accepted", "received"]).last()
    if answered is not None:
        # The answer was recorded but the step died before its release saved the new state: adopt it.
        return _uploaded(submission, answered.detail["index"])
    unanswered = _unanswered_upload(submission)
    if unanswered is not None:
        return _reconcile(submission, client, unanswered)
    return _upload(submission, client)


# --- upload ------------------------------------------------------------------------------------------------


def _unanswered_upload(submission: EInvoiceSubmission) -> EInvoiceEvent | None:
    return submission.events.filter(kind=EventKind.UPLOAD, detail__outcome__in=["sending", "ambiguous"]).last()


def _upload(submission: EInvoiceSubmission, client: AnafClient) -> float | None:
    report = validation.validate(bytes(submission.xml))
    if report.fatal:
        errors = [{"code": f.rule_id, "message": f.message, "location": f.location} for f in report.fatal]
        _event(submission, EventKind.ERROR, {"reason": "fatal validation findings; not uploaded", "errors": errors})
        return _finish(submission, AnafStatus.ERROR, errors=errors)
    ratelimit.acquire()  # first: an upload event stands for a request that leaves at once
    upload = _event(submission, EventKind.UPLOAD, {"outcome": "sending", "standard": submission.standard})
    try:
        answer = client.upload(bytes(submission.xml), cif=submission.company.cif, standard=submission.standard)
    except AmbiguousUpload as error:
        _update(upload, outcome="ambiguous", error=str(error))
        return settings.EINVOICE_RECONCILE_AFTER_SECONDS
    except (RetryableError, Unauthorized, DailyLimitReached) as error:  # the token refreshes; tomorrow comes
        _update(upload, outcome="failed", error=str(error), answer=_raw(error))
        return _retry(submission, error)
    except TerminalError as error:
        _update(upload, outcome="refused", error=str(error), answer=_raw(error))
        return _finish(submission, AnafStatus.ERROR, errors=[{"message": str(error)}])
    _update(upload, outcome="accepted", index=answer.upload_index, answer=answer.raw[:ANSWER_CHARS])
    return _uploaded(submission, answer.upload_index)


def _uploaded(submission: EInvoiceSubmission, index: int) -> float:
    submission.state = AnafStatus.UPLOADED
    submission.upload_index = index
    submission.uploaded_at = timezone.now()
    submission.attempts = 0
    return FIRST_POLL_SECONDS


def _reconcile(submission: EInvoiceSubmission, client: AnafClient, unanswered: EInvoiceEvent) -> float | None:
    """Did ANAF get the upload that went unanswered? Its message list tells, once it has processed it."""
    waited = (timezone.now() - unanswered.at).total_seconds()
    if waited < settings.EINVOICE_RECONCILE_AFTER_SECONDS:
        return settings.EINVOICE_RECONCILE_AFTER_SECONDS - waited
    try:
        found = _find_upload(submission, client, since=unanswered.at)
    except AnafError as error:  # a daily limit or a token to refresh too: try again later
        _event(submission, EventKind.ERROR, {"step": "reconcile", "error": str(error), "answer": _raw(error)})
        return _retry(submission, error)
    if found is None:
        _event(submission, EventKind.RECONCILE, {"found": None, "upload_event": unanswered.pk})
        _update(unanswered, outcome="not received")
        return 0.0  # ANAF provably has nothing: upload again
    _event(submission, EventKind.RECONCILE, {"found": found, "upload_event": unanswered.pk})
    _update(unanswered, outcome="received", index=found)
    return _uploaded(submission, found)


def _find_upload(submission: EInvoiceSubmission, client: AnafClient, *, since: datetime.datetime) -> int | None:
    """The upload index of our document among the messages of the last days: the candidates no other submission
    owns, confirmed by the document number and date inside their answer.

    The simple list (`zile`), because the paginated one ends a minute before now to absorb clock drift and would
    hide an upload processed in the last minute.
    """
    known = set(
        EInvoiceSubmission.objects.filter(company=submission.company, upload_index__isnull=False).values_list(
            "upload_index", flat=True
        )
    )
    ratelimit.acquire()
    days = min(MAX_LIST_DAYS, (timezone.now() - since).days + 2)
    listing = client.messages(cif=submission.company.cif, days=days, filter=MessageFilter.SENT)
    for message in listing.messages:
        index = int(message.id_solicitare) if (message.id_solicitare or "").isdigit() else None
        # Only what ANAF took after the unanswered upload left (less a margin for the two clocks) and that no
        # submission owns: each candidate costs a download, of which ANAF allows 10 a day per message.
        if index is None or index in known or message.data_creare < since - CLOCK_MARGIN:
            continue
        if message.tip != SENT_INVOICE:
            continue
        ratelimit.acquire()
        try:
            answer = client.download(message.id)
        except TerminalError:  # expired, or its downloads spent for today: not a candidate this time
            continue
        if not answer.is_error_report and _is_our_document(answer.document, submission):
            return index
    return None


def _is_our_document(xml: bytes, submission: EInvoiceSubmission) -> bool:
    root = etree.fromstring(xml)
    number = root.findtext("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ID")
    issued = root.findtext("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}IssueDate")
    seller = root.findtext("{*}AccountingSupplierParty/{*}Party/{*}PartyLegalEntity/{*}CompanyID") or ""
    seller_vat = root.findtext("{*}AccountingSupplierParty/{*}Party/{*}PartyTaxScheme/{*}CompanyID") or ""
    document = submission.document
    ours = submission.company.cif in (seller_vat.removeprefix("RO"), seller.removeprefix("RO"))
    return ours and number == document.number and issued == document.issue_date.isoformat()


# --- status and download -----------------------------------------------------------------------------------


def _poll(submission: EInvoiceSubmission, client: AnafClient) -> float | None:
    ratelimit.acquire()
    try:
        status = client.status(submission.upload_index)
    except (RetryableError, TerminalError) as error:  # a terminal one is the daily limit, or a token to refresh
        _event(submission, EventKind.ERROR, {"step": "status", "error": str(error), "answer": _raw(error)})
        return _retry(submission, error)
    submission.polls += 1
    submission.attempts = 0
    _event(submission, EventKind.STATUS, {"state": status.state, "answer": status.raw[:ANSWER_CHARS]})
    if status.state == State.PROCESSING:
        return min(MAX_POLL_SECONDS, FIRST_POLL_SECONDS * 2 ** min(submission.polls, 10))
    if not status.download_id:
        # Refused before processing ("XML cu erori nepreluat de sistem"): nothing to download; the answer says why.
        return _finish(submission, AnafStatus.REJECTED, errors=[{"code": None, "message": status.raw[:ANSWER_CHARS]}])
    return _download(submission, client, status.download_id, rejected=status.state == State.NOK)


def _download(submission: EInvoiceSubmission, client: AnafClient, download_id: str, *, rejected: bool) -> float | None:
    ratelimit.acquire()
    try:
        answer = client.download(download_id)
    except (RetryableError, TerminalError) as error:  # a terminal one is a daily limit: tomorrow, it passes
        _event(submission, EventKind.ERROR, {"step": "download", "error": str(error), "answer": _raw(error)})
        return _retry(submission, error)
    submission.download_id = download_id
    submission.signed_zip = answer.archive
    errors = [{"code": error.code, "message": error.message} for error in answer.errors]
    detail = {"id": download_id, "bytes": len(answer.archive), "files": [answer.document_name, answer.signature_name]}
    _event(submission, EventKind.DOWNLOAD, detail)
    if rejected:
        earlier = _duplicate_of(errors)
        if earlier is not None and earlier != submission.upload_index:
            # ANAF already has this document from an earlier upload (one whose answer was lost, say): that
            # upload's answer is this submission's.
            _event(
                submission, EventKind.RECONCILE, {"duplicate_of": earlier, "rejected_index": submission.upload_index}
            )
            submission.upload_index = earlier
            return FIRST_POLL_SECONDS
        return _finish(submission, AnafStatus.REJECTED, errors=errors)
    return _finish(submission, AnafStatus.VALIDATED, errors=[])


def _duplicate_of(errors: list[dict]) -> int | None:
    for error in errors:
        match = DUPLICATE.search(error["message"] or "")
        if match:
            return int(match.group(1))
    return None


# --- bookkeeping -------------------------------------------------------------------------------------------


def mirror(submission: EInvoiceSubmission) -> None:
    """The document shows its latest submission (`anafStatus`, `anafUploadIndex`, …): an UPDATE, which waits for
    any service holding the document's lock, so it never overwrites what that service writes."""
    Document.objects.filter(pk=submission.document_id).update(
        anaf_status=submission.state,
        anaf_upload_index=submission.upload_index,
        anaf_upload_date=submission.uploaded_at,
        anaf_download_id=submission.download_id,
        anaf_errors=submission.errors,
    )


def _finish(submission: EInvoiceSubmission, state: str, *, errors: list) -> None:
    submission.state = state
    submission.errors = errors
    return None


def _retry(submission: EInvoiceSubmission, error: Exception) -> float | None:
    submission.attempts += 1
    if submission.attempts > settings.EINVOICE_MAX_ATTEMPTS:
        _event(submission, EventKind.ERROR, {"reason": "gave up after repeated failures", "error": str(error)})
        return _finish(submission, AnafStatus.ERROR, errors=[{"message": str(error)}])
    cap = settings.EINVOICE_RETRY_CAP_SECONDS
    backoff = min(cap, 2.0**submission.attempts)
    wait = max(backoff * random.uniform(0.5, 1.0), getattr(error, "retry_after", None) or 0.0)
    return min(wait, cap)


def _event(submission: EInvoiceSubmission, kind: str, detail: dict) -> EInvoiceEvent:
    return EInvoiceEvent.objects.create(submission=submission, kind=kind, detail=detail)


def _update(event: EInvoiceEvent, **detail) -> None:
    event.detail = {**event.detail, **detail}
    event.save(update_fields=["detail"])


def _raw(error: AnafError) -> str:
    return (getattr(error, "raw", "") or "")[:ANSWER_CHARS]
