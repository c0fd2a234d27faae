"""How a step fails, reproduced in this process: what the worker tests (test_worker.py) and a review found.

A step whose rate limiter fails (its redis is down) lets go of its lease, waits the retry cap, and records no upload
that never left; a step that outlived its lease writes nothing over the worker that took over; an upload whose
answer was recorded but whose state was not saved is adopted, not made again.
"""

import datetime

import pytest
from django.utils import timezone

from einvoice import provider, ratelimit, sync
from einvoice.models import EInvoiceSubmission, EventKind
from einvoice.services import submission_queue
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def submission(company, settings, tmp_path, monkeypatch):
    """A queued submission no worker or thread takes (dispatch does nothing), over the in-process simulator."""
    settings.EINVOICE_PROVIDER = "simulator"
    settings.EINVOICE_SIMULATOR_URL = ""
    settings.EINVOICE_SIMULATOR_DIR = str(tmp_path / "anaf")
    provider.in_process_simulator.cache_clear()
    monkeypatch.setattr(sync, "dispatch", lambda submission_id, delay=0.0: None)
    queued, _ = submission_queue(document=factories.invoice(company))
    yield queued
    provider.in_process_simulator.cache_clear()


def rate_limiter_down():
    raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_step_that_raises_releases_its_lease_and_waits_the_retry_cap(submission, monkeypatch, settings):
    monkeypatch.setattr(ratelimit, "acquire", rate_limiter_down)
    before = timezone.now()
    with pytest.raises(ConnectionError):
        sync.advance(submission.pk)
    submission.refresh_from_db()
    assert submission.claimed_until is None
    assert submission.next_attempt_at >= before + datetime.timedelta(seconds=settings.EINVOICE_RETRY_CAP_SECONDS)


def test_an_upload_event_is_written_only_for_a_request_that_leaves(submission, monkeypatch):
    monkeypatch.setattr(ratelimit, "acquire", rate_limiter_down)
    with pytest.raises((ConnectionError, TypeError)):  # TypeError: the previous test's bug, in _release
        sync.advance(submission.pk)
    assert not submission.events.filter(kind=EventKind.UPLOAD).exists()
    assert EInvoiceSubmission.objects.get(pk=submission.pk).state == "queued"


def test_a_step_that_outlived_its_lease_does_not_overwrite_the_worker_that_took_over(submission):
    claimed = sync._claim(submission.pk)
    # The lease ran out and another worker took the submission (and uploaded) meanwhile.
    takeover = timezone.now() + datetime.timedelta(minutes=5)
    EInvoiceSubmission.objects.filter(pk=submission.pk).update(
        claimed_until=takeover, state="uploaded", upload_index=4242
    )
    sync._release(claimed, delay=1.0)  # the stale step's copy still says queued, no index
    submission.refresh_from_db()
    assert (submission.state, submission.upload_index, submission.claimed_until) == ("uploaded", 4242, takeover)


def test_an_upload_answered_but_not_saved_is_adopted_not_repeated(submission):
    """The step recorded ANAF's answer (index 4243) and died before its release saved the state."""
    submission.events.create(kind=EventKind.UPLOAD, detail={"outcome": "accepted", "index": 4243})
    assert sync._claim(submission.pk) is not None
    EInvoiceSubmission.objects.filter(pk=submission.pk).update(claimed_until=None)  # the lease ran out
    sync.advance(submission.pk)
    submission.refresh_from_db()
    assert (submission.state, submission.upload_index) == ("uploaded", 4243)
    assert submission.events.filter(kind=EventKind.UPLOAD).count() == 1
