"""Real threads, each with its own PostgreSQL connection, started together at a barrier.

Every worker opens its connection *before* the barrier, so the threads reach the service call at
the same moment instead of staggered by connection set-up, and closes it in a `finally`, so the
transactional test's flush never waits on a connection a thread left behind.
"""

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from config.errors import InvalidState, RuleViolation

JOIN_TIMEOUT = 60.0  # seconds for a whole race; a hang (lost wake-up, lock never released) fails the test
# A safety net so a thread stuck behind a lock fails loudly (LockNotAvailable) instead of hanging the
# suite; far above any lock wait a healthy race sees, far below JOIN_TIMEOUT.
LOCK_TIMEOUT = "30s"
EXPECTED_FAILURES = (RuleViolation, InvalidState)


@dataclass
class Outcome:
    """What one thread's call returned or raised."""

    index: int
    value: Any = None
    error: BaseException | None = None
    backend_pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def open_connection() -> int:
    """Opens this thread's connection (and guards it with a lock timeout); returns its backend pid."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


Prepare = Callable[[], Callable[[], Any]]


def start_threads(prepares: list[Prepare], *, barrier: bool = True) -> tuple[list[threading.Thread], list[Outcome]]:
    """One thread per item. Each item runs in its thread before the barrier — loading what the
    call needs over the thread's own connection — and returns the call to make at the barrier,
    so that all the calls start together (with `barrier`)."""
    gate = threading.Barrier(len(prepares)) if barrier else None
    outcomes = [Outcome(index=i) for i in range(len(prepares))]

    def worker(outcome: Outcome, prepare: Prepare) -> None:
        try:
            outcome.backend_pid = open_connection()
            call = prepare()
            if gate is not None:
                gate.wait(timeout=JOIN_TIMEOUT)
            outcome.value = call()
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the test
            outcome.error = exc
            if gate is not None:
                gate.abort()  # the others must not wait at the barrier for a thread that is gone
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(outcome, prepare), name=f"race-{outcome.index}", daemon=True)
        for outcome, prepare in zip(outcomes, prepares, strict=True)
    ]
    for thread in threads:
        thread.start()
    return threads, outcomes


def join_all(threads: list[threading.Thread], *, timeout: float = JOIN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    if hung:
        pytest.fail(f"threads still running after {timeout}s (deadlock or lost wake-up?): {hung}")


def run_concurrently(prepares: list[Prepare], *, timeout: float = JOIN_TIMEOUT) -> list[Outcome]:
    """Runs every call in its own thread, released together by a barrier; the outcomes in order."""
    threads, outcomes = start_threads(prepares)
    join_all(threads, timeout=timeout)
    return outcomes


def describe(outcome: Outcome) -> str:
    if outcome.ok:
        return f"#{outcome.index}: returned {outcome.value!r}"
    error = outcome.error
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"#{outcome.index}: raised {type(error).__name__}: {error}\n{trace}"


def split(outcomes: list[Outcome], expected: tuple[type[BaseException], ...] = EXPECTED_FAILURES):
    """(successes, expected failures); anything else a thread raised — an IntegrityError, a
    DeadlockDetected, a lock timeout, a broken barrier — fails the test with its traceback."""
    unexpected = [o for o in outcomes if not o.ok and not isinstance(o.error, expected)]
    if unexpected:
        pytest.fail(
            f"{len(unexpected)} thread(s) raised something other than {[e.__name__ for e in expected]}:\n"
            + "\n".join(describe(o) for o in unexpected)
        )
    return [o for o in outcomes if o.ok], [o for o in outcomes if not o.ok]


def blocked_by(pid: int) -> set[int]:
    """The backends that `pid` is waiting for on a heavyweight lock (row locks wait on the holder's xid)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_blocking_pids(%s)", [pid])
        return set(cursor.fetchone()[0] or ())


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Polls with a bound (no fixed sleep): returns as soon as `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


@contextmanager
def run_before(target: str, hook: Callable[[], None]) -> Iterator[mock.MagicMock]:
    """saleor's RunBefore: the first call of `target` (a dotted name) runs `hook()` first.

    Only the first call: the competing write the hook starts may call `target` itself.
    """
    module_name, _, attribute = target.rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    original = getattr(module, attribute)
    fired = threading.Event()
    guard = threading.Lock()

    def wrapper(*args, **kwargs):
        with guard:
            first = not fired.is_set()
            fired.set()
        if first:
            hook()
        return original(*args, **kwargs)

    with mock.patch(target, side_effect=wrapper) as patched:
        yield patched
    assert fired.is_set(), f"{target} was never called: the race did not happen"
