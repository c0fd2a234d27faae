"""The web's statement timeout: it cancels a stuck statement (503), never a request queued on a lock.

The request runs on this thread's connection with a short timeout; another thread, with its own connection,
holds the lock the request needs for several times that timeout.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from numbering.models import Series, SeriesKind
from tests import factories
from tests.api.conftest import V1, assert_error, ok
from tests.concurrency.conftest import open_connection, wait_until
from tests.conftest import JsonClient

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 200


@pytest.fixture
def short_timeout(settings):
    """This thread's connection as a web process has it, with a 200 ms statement timeout."""
    settings.DATABASE_STATEMENT_TIMEOUT = f"{TIMEOUT_MS}ms"
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = '{TIMEOUT_MS}ms'")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    yield pid
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")


def lock_waited_ms(pid: int) -> float:
    """How long backend `pid` has been waiting for a lock in its current statement (0 when it is not)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM clock_timestamp() - query_start) * 1000 FROM pg_stat_activity "
            "WHERE pid = %s AND wait_event_type = 'Lock'",
            [pid],
        )
        row = cursor.fetchone()
    return float(row[0]) if row else 0.0


def hold(sql: str, params, release: threading.Event, errors: list) -> threading.Thread:
    """A thread that runs `sql` in a transaction and keeps it open until `release` is set."""
    taken = threading.Event()

    def run():
        try:
            open_connection()
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(sql, params)
                taken.set()
                release.wait(timeout=30)
                cursor.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert taken.wait(timeout=30)
    assert not errors, errors
    return thread


def test_an_issue_queued_on_the_series_lock_outlasts_the_timeout(company, token, short_timeout):
    draft = factories.invoice(company, issue=False)
    series = Series.objects.get(company=company, kind=SeriesKind.INVOICE, is_default=True)
    release, errors = threading.Event(), []
    holder = hold("SELECT id FROM numbering_series WHERE id = %s FOR UPDATE", [series.pk], release, errors)

    def release_after_three_timeouts():
        # In another thread: this one is inside the request, queued on the lock.
        open_connection()
        try:
            wait_until(lambda: lock_waited_ms(short_timeout) > 3 * TIMEOUT_MS, what="the issue to queue 600 ms")
        finally:
            release.set()
            connection.close()

    watcher = threading.Thread(target=release_after_three_timeouts, daemon=True)
    watcher.start()
    issued = ok(JsonClient(token, company.uuid).post(f"{V1}/invoices/{draft.uuid}/issue"))
    watcher.join(30)
    holder.join(30)
    assert not errors, errors
    assert issued["number"] and issued["status"] == "issued"
    # The timeout is back in force after the lock was taken: the rest of the transaction stays bounded.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{TIMEOUT_MS}ms"


def test_a_statement_stuck_past_the_timeout_is_a_503_in_the_error_shape(company, token, short_timeout):
    factories.invoice(company)
    release, errors = threading.Event(), []
    holder = hold("LOCK TABLE invoices_document IN ACCESS EXCLUSIVE MODE", [], release, errors)
    try:
        response = JsonClient(token, company.uuid).get(f"{V1}/invoices")
    finally:
        release.set()
        holder.join(30)
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert ok(JsonClient(token, company.uuid).get(f"{V1}/invoices"))["total"] == 1


def settings_of_a_fresh_process(entry: str) -> str:
    """The database options a new process gets when it starts from `entry`."""
    code = f"import {entry}; from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))"
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_STATEMENT_TIMEOUT"}
    environment["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/unused"
    environment.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=environment, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_web_processes_bound_statements_and_workers_do_not():
    assert "statement_timeout=10s" in settings_of_a_fresh_process("config.wsgi")
    assert "statement_timeout=10s" in settings_of_a_fresh_process("config.asgi")
    worker = settings_of_a_fresh_process("config.celery")
    assert "statement_timeout" not in worker
