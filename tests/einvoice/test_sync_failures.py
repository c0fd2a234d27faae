"""What the worker tests (test_worker.py, redis restarted mid-run) showed, reproduced in this process: a step whose
rate limiter fails (its redis is down) while uploading.

The step must let go of its lease and wait the retry cap, and it must not have recorded an upload that never left.
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
