"""Idempotency-Key on POST (API.md): replay, conflict, in progress, crash safety, expiry."""

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.idempotency import _lock_id
from accounts.models import IdempotencyRecord
from invoices import services
from invoices.models import Document
from tests.api.conftest import V1, assert_error, line, ok
from tests.conftest import JsonClient

KEY = {"Idempotency-Key": "order-7781"}


def invoice_body(client_id, **extra):
    return {"clientId": client_id, "lines": [line()], **extra}


def test_a_repeat_replays_the_first_answer_and_does_the_work_once(api, client_):
    first = api.post(f"{V1}/invoices", invoice_body(client_["id"], issue=True), **KEY)
    assert first.status_code == 201
    again = api.post(f"{V1}/invoices", invoice_body(client_["id"], issue=True), **KEY)
    assert (again.status_code, again.data_json) == (201, first.data_json)
    assert again["Idempotent-Replayed"] == "true"
    assert Document.objects.filter(company__uuid=api.headers["X-Company"]).count() == 1


def test_the_same_key_with_another_body_is_a_conflict(api, client_):
    ok(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 201)
    other = invoice_body(client_["id"], notes="altă comandă")
    assert_error(api.post(f"{V1}/invoices", other, **KEY), 409, "idempotency_conflict")
    assert_error(api.post(f"{V1}/clients", {"name": "X SRL"}, **KEY), 409, "idempotency_conflict")  # another path


def test_an_answer_that_was_an_error_is_replayed_too(api):
    bad = {"clientId": "00000000-0000-0000-0000-000000000000", "lines": [line()]}
    first = assert_error(api.post(f"{V1}/invoices", bad, **KEY), 422, "validation_error", "clientId")
    again = api.post(f"{V1}/invoices", bad, **KEY)
    assert again.status_code == 422 and again.data_json["error"] == first and again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_still_runs_is_in_progress(api, client_, company):
    held, release = threading.Event(), threading.Event()

    def first_request_still_running():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(company, KEY["Idempotency-Key"])])
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request_still_running)
    thread.start()
    try:
        assert held.wait(timeout=20)
        assert_error(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 409, "idempotency_in_progress")
    finally:
        release.set()
        thread.join(timeout=20)
    ok(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 201)  # once it is done, the key is free


def test_a_crash_leaves_neither_the_work_nor_an_answer(api, client_, monkeypatch):
    real_create = services.invoice_create

    def create_then_crash(**kwargs):
        real_create(**kwargs)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(services, "invoice_create", create_then_crash)
    assert_error(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 500, "internal_error")
    assert not Document.objects.exists() and not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(services, "invoice_create", real_create)
    ok(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 201)
    assert Document.objects.count() == 1


def test_keys_are_per_company(api, client_, other_company, user):
    from accounts.services import membership_add

    membership_add(user=user, company=other_company)
    ok(api.post(f"{V1}/clients", {"name": "Unu SRL"}, **KEY), 201)
    elsewhere = JsonClient(api.headers["authtoken"], other_company.uuid)
    assert ok(elsewhere.post(f"{V1}/clients", {"name": "Unu SRL"}, **KEY), 201).get("id")
    assert IdempotencyRecord.objects.count() == 2


def test_an_expired_key_is_free_again_and_purged(api, client_):
    ok(api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY), 201)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = api.post(f"{V1}/invoices", invoice_body(client_["id"]), **KEY)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Document.objects.count() == 2
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    out = StringIO()
    call_command("purge_idempotency_records", stdout=out)
    assert "Purged 1" in out.getvalue() and not IdempotencyRecord.objects.exists()


def test_a_key_over_255_characters_is_refused(api, client_):
    response = api.post(f"{V1}/invoices", invoice_body(client_["id"]), **{"Idempotency-Key": "k" * 256})
    assert_error(response, 422, "validation_error", "Idempotency-Key")
    assert not Document.objects.exists()


def test_other_methods_ignore_the_key(api, client_):
    assert ok(api.get(f"{V1}/invoices", **KEY))["total"] == 0
    assert not IdempotencyRecord.objects.exists()


def test_an_answer_echoing_a_nul_character_is_stored_and_replayed(api, client_):
    body = {"clientId": client_["id"], "lines": [line()], "no\u0000such": 1}
    first = assert_error(api.post(f"{V1}/invoices", body, **KEY), 422, "validation_error", "no\u0000such")
    again = api.post(f"{V1}/invoices", body, **KEY)
    assert (again.status_code, again.data_json["error"]) == (422, first)


def test_with_a_key_an_unknown_path_is_still_404_before_a_bad_body(api, foreign):
    path = f"{V1}/invoices/{foreign['draft'].uuid}/issue"
    assert_error(api.post(path, "[]", **KEY), 404, "not_found")
    assert_error(api.post(path, "[]"), 404, "not_found")


def test_the_same_json_spaced_or_ordered_otherwise_is_the_same_request(api, client_):
    body = invoice_body(client_["id"])
    first = api.post(f"{V1}/invoices", body, **KEY)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = api.post(f"{V1}/invoices", reordered, **KEY)
    assert (again.status_code, again.data_json) == (201, first.data_json) and again["Idempotent-Replayed"] == "true"
