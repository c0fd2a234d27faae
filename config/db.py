"""Statement timeouts for the web's database connections, and the lock waits exempt from them.

A web process bounds every statement (`DATABASE_STATEMENT_TIMEOUT`, defaulted by config/wsgi.py), so a
runaway query cannot pin a worker and a connection. Waiting for a row lock held by a concurrent request is not
runaway: a burst of issues queued on one series, or of applies on one invoice, must all go through however
long the queue. Those waits run under `waiting_for_lock`.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def waiting_for_lock():
    """Lifts the statement timeout for the lock-taking statement(s) inside, and puts it back after."""
    if not settings.DATABASE_STATEMENT_TIMEOUT or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', '0', true)")
        timeout = cursor.fetchone()[0]
    yield
    # Not in a `finally`: after an error the transaction is aborted (or its savepoint rolled back, which undoes
    # this set_config too), and another statement would only hide the error.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
