"""Idempotency-Key on POST (API.md, Stripe's semantics), per company and key, for 24 hours.

The key is claimed in the transaction of the request it guards: the stored answer commits with the
work or not at all, so a crash leaves neither a half-done operation nor an answer for one. While a
request runs it holds a transaction-scoped advisory lock on its key; a repeat that cannot take the
lock is still running elsewhere (409 idempotency_in_progress).
"""

import hashlib
import json
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from accounts.models import Company, IdempotencyRecord
from config.errors import ApplicationError, RuleViolation

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyConflict(ApplicationError):
    status = 409
    code = "idempotency_conflict"


class IdempotencyInProgress(ApplicationError):
    status = 409
    code = "idempotency_in_progress"


class Replay(Exception):
    """The stored answer to this key, to be sent again as it was."""

    def __init__(self, record: IdempotencyRecord):
        super().__init__(record.key)
        self.status = record.response_status
        self.body = json.loads(record.response_body)


def fingerprint(*, method: str, path: str, raw_body: bytes) -> str:
    """The same JSON however it is spaced or ordered; a body that is not JSON, byte for byte."""
    try:
        body = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        body = raw_body
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def _lock_id(company: Company, key: str) -> int:
    digest = hashlib.sha256(f"{company.pk}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim(*, company: Company, key: str, request_hash: str) -> None:
    """Inside the request's transaction: go on (nothing stored), or raise Replay or a 409."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise RuleViolation.on("Idempotency-Key", f"An Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(company, key)])
            if not cursor.fetchone()[0]:
                raise IdempotencyInProgress("A request with this Idempotency-Key is still being processed.")
    # (SQLite serializes write transactions, so a repeat simply waits for the first.)
    record = IdempotencyRecord.objects.filter(company=company, key=key).first()
    if record is None:
        return
    if record.created_at < timezone.now() - RETENTION:
        record.delete()  # expired: the key is free again
        return
    if record.request_hash != request_hash:
        raise IdempotencyConflict("This Idempotency-Key was used with a different request.")
    raise Replay(record)


def store(*, company: Company, key: str, request_hash: str, status: int, body) -> None:
    IdempotencyRecord.objects.create(
        company=company, key=key, request_hash=request_hash, response_status=status, response_body=json.dumps(body)
    )


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
