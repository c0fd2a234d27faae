"""The e-invoice sync among real processes: PostgreSQL, a redis-server of its own (broker and the rate limiter's
cache), Celery worker and beat subprocesses, and the ANAF simulator over HTTP on loopback, with faults switched on
while documents are on their way. Every scenario ends with each document `validated`, exactly one upload ANAF
accepted, one `upload` event per upload request the simulator received, and the signed ZIP stored.

The processes are started once for the module (tests/einvoice/worker_harness.py) and stopped, with their logs under
the module's tmp folder, at its end; a failing test prints the end of those logs. Transactional tests: the workers
read what the test committed, in the test database pytest-django created (its name goes to them in DATABASE_URL).
Timings are seconds where production has minutes (worker_harness.FAST_TIMINGS): lease 3 s, reconcile after 2 s,
retry cap 2 s, read timeout 1 s, a beat sweep every second.
"""

import io
import time
import zipfile
from collections import Counter

import pytest
from django.db import connection
from django.test import override_settings

from config.celery import app as celery_app
from einvoice import validation
from einvoice.models import EInvoiceEvent, EInvoiceSubmission, EventKind
from tests import factories
from tests.api.conftest import V1, ok
from tests.einvoice import worker_harness
from tests.einvoice.worker_harness import Stack, WorkerGroup, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSING_SECONDS = 0.3  # the simulator's "in prelucrare" after an upload
FINAL = {"validated", "rejected", "error"}
DEFAULT_GROUP = WorkerGroup(workers=1, concurrency=3)
SYNC_TIMEOUT = 40.0  # seconds for a document to reach its final state in the scenarios without a long outage


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, validation_artifacts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("einvoice-worker")
    database = worker_harness.database_url(connection.settings_dict)
    stack = Stack(
        folder, database=database, validation_dir=str(validation_artifacts), processing_seconds=PROCESSING_SECONDS
    )
    try:
        stack.start()
        # This process only queues (the API's on_commit dispatch, with CELERY_TASK_ALWAYS_EAGER off for each test)
        # and watches: it publishes to the dedicated redis. The Celery app reads the Django settings as they are.
        with override_settings(CELERY_BROKER_URL=stack.redis.url):
            _forget_broker_connections()
            # The simulator validates every upload in this process: compile the schematron before any upload waits
            # on it (about a second, past the workers' 1 s read timeout).
            validation._artifacts()
            stack.ensure(DEFAULT_GROUP)
            yield stack
    finally:
        _forget_broker_connections()
        stack.stop()


def _forget_broker_connections() -> None:
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def harness(stack, settings, request):
    """Each test: the default workers running (unless it asks for others), an empty simulator with no faults, and
    submissions dispatched to the broker. A failure prints the end of every process's log."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.EINVOICE_PROVIDER = "simulator"
    settings.EINVOICE_SIMULATOR_URL = stack.server.url
    stack.ensure(getattr(request.function, "worker_group", DEFAULT_GROUP))
    stack.simulator.reset()
    failed_before = request.session.testsfailed
    yield stack
    stack.simulator.clear_faults()
    if request.session.testsfailed > failed_before:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\n{request.node.nodeid}: the processes' logs\n{stack.logs(60)}")


def workers(group: WorkerGroup):
    """The test runs with this group of workers instead of the default one."""

    def mark(test):
        test.worker_group = group
        return test

    return mark


# --- helpers -------------------------------------------------------------------------------------------------------


def queue(api, document, expected: int = 202) -> dict:
    return ok(api.post(f"{V1}/invoices/{document.uuid}/einvoice"), expected)


def describe(stack: Stack, documents) -> str:
    lines = []
    for submission in EInvoiceSubmission.objects.filter(document__in=documents).order_by("pk"):
        lines.append(f"submission {submission.pk} of {submission.document_id}: {submission.state}")
        lines.extend(f"  {event.at:%H:%M:%S.%f} {event.kind} {event.detail}" for event in submission.events.all())
    calls = [(round(call.at % 100, 2), call.endpoint, call.document) for call in stack.simulator.calls()]
    lines.append(f"simulator calls (seconds mod 100, endpoint, document): {calls}")
    return "\n".join(lines) + "\n" + stack.logs()


def synced(stack: Stack, documents, timeout: float = SYNC_TIMEOUT, *, supervised: list | None = None) -> None:
    """Polls (with a bound) until every document's submission is final. With `supervised` (a list), a worker or beat
    that exits meanwhile is started again, as the deployment's supervisor would, and its name added to the list."""

    def final() -> bool:
        if supervised is not None:
            supervised.extend(stack.revive())
        states = list(EInvoiceSubmission.objects.filter(document__in=documents).values_list("state", flat=True))
        return len(states) == len(documents) and set(states) <= FINAL

    try:
        wait_for(final, timeout=timeout, interval=0.1)
    except TimeoutError:
        pytest.fail(f"not final within {timeout}s:\n{describe(stack, documents)}")


def delivered(stack: Stack, api, document) -> list[EInvoiceEvent]:
    """Asserts the document's one submission is validated, through exactly one upload ANAF accepted, with one upload
    event per upload request the simulator received and the signed ZIP stored; answers the submission's events."""
    status = ok(api.get(f"{V1}/invoices/{document.uuid}/einvoice"))
    context = describe(stack, [document])
    assert status["anafStatus"] == "validated", context
    submission = EInvoiceSubmission.objects.get(document=document)
    accepted = stack.simulator.accepted_by_document().get(document.number, [])
    assert len(accepted) == 1, context
    assert submission.upload_index == accepted[0].index == status["uploadIndex"], context
    assert accepted[0].standard == submission.standard
    assert accepted[0].body == bytes(submission.xml)
    events = list(submission.events.all())
    uploads = [event for event in events if event.kind == EventKind.UPLOAD]
    requests = stack.simulator.upload_requests()[document.number]
    assert len(uploads) == requests, context
    archive = zipfile.ZipFile(io.BytesIO(bytes(submission.signed_zip)))
    index = submission.upload_index
    assert sorted(archive.namelist()) == sorted([f"{index}.xml", f"semnatura_{index}.xml"])
    assert archive.read(f"{index}.xml") == bytes(submission.xml)
    document.refresh_from_db()
    assert (document.anaf_status, document.anaf_upload_index) == ("validated", index)
    assert submission.download_id == status["downloadId"] != ""
    return events


def outcomes(events: list[EInvoiceEvent]) -> list[str]:
    return [event.detail.get("outcome") for event in events if event.kind == EventKind.UPLOAD]


def kinds(events: list[EInvoiceEvent]) -> Counter:
    return Counter(event.kind for event in events)


# --- the happy path ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["invoice", "381", "380"])
def test_a_document_is_validated_through_one_upload(stack, api, company, form):
    invoice = factories.invoice(company)
    document = invoice if form == "invoice" else factories.credit(invoice, invoice_type_code=form)
    assert queue(api, document)["anafStatus"] == "queued"
    synced(stack, [document])
    events = delivered(stack, api, document)
    assert outcomes(events) == ["accepted"]
    assert [event.kind for event in events][0] == EventKind.QUEUED
    assert [event.kind for event in events][-1] == EventKind.DOWNLOAD
    assert kinds(events)[EventKind.ERROR] == 0
    assert stack.simulator.accepted_uploads()[0].standard == ("CN" if form == "381" else "UBL")


# --- faults --------------------------------------------------------------------------------------------------------


def test_a_5xx_burst_on_upload_is_reconciled_then_uploaded_again(stack, api, company):
    """A 5xx after the body went leaves open whether ANAF filed it: each one is reconciled (ANAF's list shows
    nothing, as the simulator processed nothing) before the next upload; the third is accepted."""
    invoice = factories.invoice(company)
    stack.simulator.inject("status_5xx", endpoint="upload", times=2, status=502)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["not received", "not received", "accepted"]
    assert kinds(events)[EventKind.RECONCILE] == 2


def test_a_5xx_burst_on_stare_mesaj_is_retried(stack, api, company):
    invoice = factories.invoice(company)
    stack.simulator.inject("status_5xx", endpoint="stareMesaj", times=3, status=503)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["accepted"]
    assert [event.detail["step"] for event in events if event.kind == EventKind.ERROR] == ["status"] * 3


def test_429_is_retried_after_its_retry_after(stack, api, company):
    invoice = factories.invoice(company)
    stack.simulator.inject("status_429", times=3, retry_after=1)  # the upload, then the first calls after it
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["failed", "failed", "failed", "accepted"]  # a 429 filed nothing: no reconcile
    assert all(
        "Too many requests" in event.detail["error"]
        for event in events
        if event.kind == EventKind.UPLOAD and event.detail["outcome"] == "failed"
    )


def test_a_stare_mesaj_hanging_past_the_read_timeout_is_retried(stack, api, company):
    invoice = factories.invoice(company)
    stack.simulator.inject("hang", endpoint="stareMesaj", times=2, seconds=2.5)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["accepted"]
    assert [event.detail["step"] for event in events if event.kind == EventKind.ERROR] == ["status"] * 2


def test_an_upload_hanging_past_the_read_timeout_is_reconciled_not_repeated(stack, api, company):
    invoice = factories.invoice(company)
    stack.simulator.inject("hang", endpoint="upload", times=1, seconds=2.5)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["received"]
    assert "ReadTimeout" in next(event for event in events if event.kind == EventKind.UPLOAD).detail["error"]
    assert kinds(events)[EventKind.RECONCILE] == 1
    assert stack.simulator.upload_requests()[invoice.number] == 1


def test_the_firewalls_html_page_is_retried(stack, api, company):
    """The F5 page stops the request before e-Factura: nothing was filed, the upload is simply made again."""
    invoice = factories.invoice(company)
    stack.simulator.inject("html_firewall", endpoint="upload", times=2)
    stack.simulator.inject("html_firewall", endpoint="stareMesaj", times=1)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["failed", "failed", "accepted"]
    assert kinds(events)[EventKind.RECONCILE] == 0


def test_an_upload_accepted_then_dropped_is_reconciled_not_uploaded_again(stack, api, company):
    invoice = factories.invoice(company)
    stack.simulator.inject("accept_then_drop", endpoint="upload", times=1)
    queue(api, invoice)
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["received"]
    reconcile = next(event for event in events if event.kind == EventKind.RECONCILE)
    upload = next(event for event in events if event.kind == EventKind.UPLOAD)
    assert reconcile.detail == {"found": upload.detail["index"], "upload_event": upload.pk}
    assert stack.simulator.upload_requests()[invoice.number] == 1


def test_documents_on_their_way_survive_redis_restarted_mid_run(stack, api, company):
    """redis-server SIGKILLed and started again, empty (no persistence): the queued and countdown tasks are gone,
    the rate limiter's counters too. The workers and beat reconnect, and the sweeper re-drives every submission
    whose next step is due.

    A worker that exits meanwhile is started again, as docker-compose.yml's `restart: unless-stopped` does (celery
    5.7.0 made a worker holding unacknowledged tasks exit on the broker's loss; the next test keeps it from coming
    back)."""
    invoice = factories.invoice(company)
    documents = [invoice, factories.credit(invoice, invoice_type_code="381"), factories.invoice(company)]
    for document in documents:
        queue(api, document)
    wait_for(
        lambda: EInvoiceEvent.objects.filter(kind=EventKind.UPLOAD, submission__document__in=documents).exists(),
        timeout=15,
        what="a first upload",
    )
    in_flight = EInvoiceSubmission.objects.filter(document__in=documents).exclude(state__in=FINAL).count()
    stack.redis.kill()
    assert in_flight == len(documents)  # none had its answer yet: the restart lands mid-run
    time.sleep(2.0)  # the broker stays away for a while
    stack.redis.start()
    revived: list[str] = []
    synced(stack, documents, timeout=60, supervised=revived)
    for document in documents:
        # A step that reaches the rate limiter while redis is down fails before it writes its upload event
        # (test_sync_failures.py): every upload event stands for a request that left.
        delivered(stack, api, document)
    print(f"restarted after the broker's loss: {revived or 'none'}")


def test_a_worker_holding_countdown_tasks_outlives_a_redis_restart(stack):
    """Every submission on its way has a countdown task held, unacknowledged, by a worker: the worker must reconnect
    when the broker comes back, not exit."""
    worker = stack.workers[0]
    task = celery_app.send_task("einvoice.sync_submission", args=[0], countdown=60)  # no such submission: a no-op
    wait_for(lambda: f"[{task.id}] received" in worker.output_since_start(), timeout=10, what="the task held")
    stack.redis.restart()
    reconnected = wait_for(
        lambda: not worker.running or worker.output_since_start().count("Connected to redis") >= 2,
        timeout=20,
        what="the worker to reconnect or exit",
    )
    assert reconnected and worker.running, worker.tail()


def test_a_worker_killed_mid_upload_leaves_an_upload_that_is_reconciled_not_repeated(stack, api, company):
    """SIGKILL to the worker (and its pool) while its upload request waits for ANAF's answer: the upload event says
    `sending`, the task is never acknowledged and the lease is left. Once the lease expires the sweeper re-drives
    the submission on the restarted worker, which reconciles through ANAF's list instead of uploading again."""
    invoice = factories.invoice(company)
    stack.simulator.inject("hang", endpoint="upload", times=1, seconds=10)
    queue(api, invoice)
    wait_for(lambda: stack.simulator.calls("upload"), timeout=15, interval=0.005, what="the upload request")
    stack.kill_workers()
    upload = EInvoiceEvent.objects.get(kind=EventKind.UPLOAD, submission__document=invoice)
    assert upload.detail["outcome"] == "sending", "the kill did not land while the upload was in flight"
    assert EInvoiceSubmission.objects.get(document=invoice).claimed_until is not None
    stack.start_workers()
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["received"]
    assert kinds(events)[EventKind.RECONCILE] == 1


# A long outage, compressed. Retries back off 2, 4, 8… seconds with jitter (×0.5–1) up to EINVOICE_RETRY_CAP_SECONDS:
# 600 s in production, 2 s here, so time runs 300 times faster once the cap is reached, and 20 s of outage stand for
# 6,000 s (100 minutes) of capped retries. Counted in failed attempts, what EINVOICE_MAX_ATTEMPTS (150) bounds: here
# about 12 per document (measured: 10–13), as many as an hour's outage makes at production caps (nine doubling
# retries, 2 s → 512 s, take ~13 minutes with jitter; then one every 5–10 minutes: ~15 in the hour).
OUTAGE_SECONDS = 20.0


def test_a_long_outage_ends_with_each_document_uploaded_once(stack, api, company):
    invoice = factories.invoice(company)
    documents = [invoice, factories.credit(invoice, invoice_type_code="380")]
    fault = stack.simulator.inject("down", seconds=OUTAGE_SECONDS)
    for document in documents:
        queue(api, document)
    synced(stack, documents, timeout=OUTAGE_SECONDS + SYNC_TIMEOUT)
    outage_ended = fault.created_at + OUTAGE_SECONDS
    for document in documents:
        events = delivered(stack, api, document)
        assert outcomes(events)[-1] == "accepted"
        assert set(outcomes(events)[:-1]) <= {"not received"}
        assert kinds(events)[EventKind.ERROR] >= 3  # the reconciliations that found ANAF down
    assert all(upload.received_at.timestamp() >= outage_ended for upload in stack.simulator.accepted_uploads())
    refused = [call for call in stack.simulator.calls() if call.at < outage_ended]
    assert len(refused) >= 3 * len(documents)


# --- duplicates ----------------------------------------------------------------------------------------------------


def test_a_double_submit_from_the_api_uploads_once(stack, api, company):
    invoice = factories.invoice(company)
    first = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    second = api.post(f"{V1}/invoices/{invoice.uuid}/einvoice")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.data_json["anafStatus"] == "queued"
    synced(stack, [invoice])
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["accepted"]
    assert queue(api, invoice, 200)["anafStatus"] == "validated"
    assert EInvoiceSubmission.objects.filter(document=invoice).count() == 1
    assert len(stack.simulator.accepted_uploads()) == 1


def test_a_task_delivered_many_times_at_once_uploads_once(stack, api, company):
    """The same einvoice.sync_submission sent six more times at once, run concurrently by the worker's pool: one
    step wins each lease, the others do nothing."""
    invoice = factories.invoice(company)
    queue(api, invoice)
    submission = EInvoiceSubmission.objects.get(document=invoice)
    sent = [celery_app.send_task("einvoice.sync_submission", args=[submission.pk]).id for _ in range(6)]
    synced(stack, [invoice])
    log = stack.workers[0].output_since_start
    wait_for(lambda: all(f"[{task}] succeeded" in log() for task in sent), timeout=10, what="every copy to run")
    events = delivered(stack, api, invoice)
    assert outcomes(events) == ["accepted"]
    assert kinds(events)[EventKind.DOWNLOAD] == 1
    assert len(stack.simulator.calls("upload")) == 1
    assert len(stack.simulator.calls("descarcare")) == 1


# --- the rate limiter ----------------------------------------------------------------------------------------------

RATE_PER_MINUTE = 120  # 2 calls a second
RATE_GROUP = WorkerGroup(
    workers=2,
    concurrency=2,
    # A lease far above the rate-limit waits of four pool processes sharing 2 calls a second.
    settings=(("EINVOICE_RATE_LIMIT_PER_MINUTE", str(RATE_PER_MINUTE)), ("EINVOICE_LEASE_SECONDS", "30")),
)


@workers(RATE_GROUP)
def test_a_backlog_drains_within_the_rate_limit(stack, api, company):
    """Two worker processes (four pool processes) share the limit through redis: counted by second as the limiter
    counts them, ANAF never gets more than the limit allows, and the backlog drains at it."""
    per_second = RATE_PER_MINUTE // 60
    documents = [factories.invoice(company) for _ in range(6)]
    for document in documents:
        queue(api, document)
    synced(stack, documents, timeout=60)
    for document in documents:
        delivered(stack, api, document)
    calls = stack.simulator.calls()
    by_second = Counter(int(call.at) for call in calls)
    # The limiter counts a call when it lets it go, the simulator when it arrives a moment later: a call let go at
    # the very end of one second can land in the next. So: one call of slack in any second, and over the whole
    # drain no more than the limit allows for the seconds it spanned (plus that one boundary).
    assert max(by_second.values()) <= per_second + 1, sorted(by_second.items())
    span = max(by_second) - min(by_second) + 1
    assert len(calls) <= (span + 1) * per_second, sorted(by_second.items())
    assert len(calls) >= 3 * len(documents)  # upload, stareMesaj, descarcare each
    assert max(by_second.values()) >= per_second  # the limiter was what held the workers back
