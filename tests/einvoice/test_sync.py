"""The e-invoice outbox end to end in the embedded default: the API queues, a thread of this process syncs against
the in-process simulator (its state in a folder), and the submission reaches ANAF's final answer.

Transactional tests: the sync runs on its own connection and must see what the request committed.
"""

import datetime
import time

import pytest

from einvoice import provider
from einvoice.models import EInvoiceSubmission, EventKind
from tests import factories
from tests.api.conftest import V1, assert_error, ok
from tests.conftest import JsonClient

pytestmark = pytest.mark.django_db(transaction=True)
FINAL = {"validated", "rejected", "error"}


@pytest.fixture
def simulator(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EINVOICE_PROVIDER = "simulator"
    settings.EINVOICE_SIMULATOR_URL = ""
    settings.EINVOICE_SIMULATOR_DIR = str(tmp_path / "anaf")
    settings.EINVOICE_SIMULATOR_PROCESSING_SECONDS = 0.2
    provider.in_process_simulator.cache_clear()
    yield provider.in_process_simulator()
    provider.in_process_simulator.cache_clear()


@pytest.fixture
def api(token, company):
    return JsonClient(token, company.uuid)


def synced(api, document_id, timeout: float = 30.0) -> dict:
    """Polls GET …/einvoice (with a bound) until the submission is final."""
    deadline = time.monotonic() + timeout
    while True:
        status = ok(api.get(f"{V1}/invoices/{document_id}/einvoice"))
        if status["anafStatus"] in FINAL:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"not final after {timeout}s: {status}")
        time.sleep(0.05)


def kinds(status: dict) -> list[str]:
    return [event["kind"] for event in status["events"]]


@pytest.mark.parametrize("form", ["invoice", "381", "380"])
def test_a_document_reaches_validated_with_one_upload_and_its_signed_zip(api, company, simulator, form):
    invoice = factories.invoice(company)
    document = invoice if form == "invoice" else factories.credit(invoice, invoice_type_code=form)
    response = api.post(f"{V1}/invoices/{document.uuid}/einvoice")
    assert response.status_code == 202, response.data_json
    assert response.data_json["anafStatus"] == "queued"

    status = synced(api, document.uuid)
    assert status["anafStatus"] == "validated", status
    assert kinds(status).count("upload") == 1
    assert kinds(status)[0] == "queued" and kinds(status)[-1] == "download"
    uploads = simulator.accepted_uploads()
    assert len(uploads) == 1
    assert uploads[0].standard == ("CN" if form == "381" else "UBL")
    submission = EInvoiceSubmission.objects.get(document=document)
    assert submission.signed_zip and bytes(submission.signed_zip)[:2] == b"PK"
    assert status["uploadIndex"] == uploads[0].index and status["downloadId"]
    shown = ok(api.get(f"{V1}/invoices/{document.uuid}"))
    assert (shown["anafStatus"], shown["anafUploadIndex"]) == ("validated", uploads[0].index)


def test_asking_twice_answers_the_same_submission(api, company, simulator):
    invoice = factories.invoice(company)
    first = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    second = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    assert (first.status_code, second.status_code) == (202, 200)
    synced(api, invoice.uuid)
    assert ok(api.post(f"{V1}/invoices/{invoice.uuid}/einvoice"))["anafStatus"] == "validated"
    assert len(simulator.accepted_uploads()) == 1
    assert EInvoiceSubmission.objects.filter(document=invoice).count() == 1


def test_a_document_anaf_already_has_takes_the_earlier_uploads_answer(api, company, simulator):
    """ANAF answers a second upload of a document with `nok`, "already sent with index=N": the sync follows
    index N (the upload whose answer was lost) instead of reporting the document rejected."""
    invoice = factories.invoice(company)
    simulator.inject("duplicate", endpoint="upload", times=1)
    ok(api.post(f"{V1}/invoices/{invoice.uuid}/einvoice"), 202)
    status = synced(api, invoice.uuid)
    assert status["anafStatus"] == "validated", status
    reconciled = [event["detail"] for event in status["events"] if event["kind"] == "reconcile"]
    assert reconciled and reconciled[0]["duplicate_of"] == status["uploadIndex"]
    assert kinds(status).count("upload") == 1


def test_a_draft_is_not_sent_and_a_document_never_sent_says_so(api, company, simulator):
    draft = factories.invoice(company, issue=False)
    assert_error(api.post(f"{V1}/invoices/{draft.uuid}/einvoice"), 409, "invalid_state")
    invoice = factories.invoice(company)
    status = ok(api.get(f"{V1}/invoices/{invoice.uuid}/einvoice"))
    assert (status["anafStatus"], status["events"]) == ("not_submitted", [])
    assert status["deadline"] == (invoice.issue_date + datetime.timedelta(days=5)).isoformat()


def test_an_upload_left_unanswered_is_reconciled_not_repeated(api, company, simulator, settings):
    settings.EINVOICE_RECONCILE_AFTER_SECONDS = 1.0
    invoice = factories.invoice(company)
    simulator.inject("accept_then_drop", endpoint="upload", times=1)
    ok(api.post(f"{V1}/invoices/{invoice.uuid}/einvoice"), 202)
    status = synced(api, invoice.uuid)
    assert status["anafStatus"] == "validated", status
    assert kinds(status).count("upload") == 1
    assert EventKind.RECONCILE in kinds(status)
    assert len(simulator.accepted_uploads()) == 1


def test_anafs_nok_shows_the_errors_of_its_error_file_and_a_corrected_document_goes_again(
    api, company, simulator, monkeypatch
):
    """ANAF's rules can be stricter than ours (a rule added upstream before our copy of the artifacts): the sync's
    own pre-upload check is let through here, and the document that reaches ANAF breaks BR-RO-001."""
    from django.db import transaction

    from einvoice import services, sync, validation

    invoice = factories.invoice(company)
    monkeypatch.setattr(sync.validation, "validate", lambda xml: validation.Report(ran=(), findings=()))
    with transaction.atomic():
        submission, _ = services.submission_queue(document=invoice)
        wrong_profile = bytes(submission.xml).replace(b"CIUS-RO:1.0.1", b"CIUS-RO:0.9")
        EInvoiceSubmission.objects.filter(pk=submission.pk).update(xml=wrong_profile)
    status = synced(api, invoice.uuid)
    assert status["anafStatus"] == "rejected", status
    assert any(error["code"] == "BR-RO-001" for error in status["errors"]), status["errors"]
    assert ok(api.get(f"{V1}/invoices/{invoice.uuid}"))["anafErrors"] == status["errors"]
    assert kinds(status)[-1] == "download"

    again = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    assert again.status_code == 202
    assert synced(api, invoice.uuid)["anafStatus"] == "validated"
    assert len(simulator.accepted_uploads()) == 2


def test_a_broker_that_cannot_take_the_task_does_not_fail_the_request(api, company, simulator, monkeypatch):
    """The submission is committed before the hand-off; the sweeper dispatches what the broker refused."""
    from einvoice import sync

    def broker_down(submission_id, delay=0.0):
        raise ConnectionError("broker unreachable")

    invoice = factories.invoice(company)
    monkeypatch.setattr(sync, "dispatch", broker_down)
    response = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    assert response.status_code == 202, response.data_json
    assert list(sync.due_submissions().values_list("document", flat=True)) == [invoice.pk]
