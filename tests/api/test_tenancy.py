"""Another company's objects are invisible: 404 for ids in the path, 422 for ids in a body (API.md Conventions)."""

import uuid

import pytest

from invoices.models import Document
from tests.api.conftest import V1, assert_error, line, make_client, make_credit, make_invoice, make_note, ok

pytestmark = pytest.mark.django_db

INVOICE_ENDPOINTS = [
    ("get", "/invoices/{id}", None),
    ("patch", "/invoices/{id}", {"notes": "mine now"}),
    ("put", "/invoices/{id}", "CREATE_BODY"),
    ("delete", "/invoices/{id}", None),
    ("post", "/invoices/{id}/issue", {}),
    ("post", "/invoices/{id}/credit", {}),
    ("get", "/invoices/{id}/creditable", None),
    ("post", "/invoices/{id}/payments", {"amount": "1.00"}),
]
CREDIT_NOTE_ENDPOINTS = [
    ("get", "/credit_notes/{id}", None),
    ("patch", "/credit_notes/{id}", {"notes": "mine now"}),
    ("put", "/credit_notes/{id}", "CREATE_BODY"),
    ("delete", "/credit_notes/{id}", None),
    ("post", "/credit_notes/{id}/issue", {}),
    ("post", "/credit_notes/{id}/apply", "APPLY_BODY"),
    ("get", "/credit_notes/{id}/applications", None),
    ("post", "/credit_notes/{id}/refund", {"amount": "1.00"}),
    ("post", "/credit_notes/{id}/void", {}),
]


def call(api, method, path, body):
    if method in ("get", "delete"):
        return getattr(api, method)(V1 + path)
    return getattr(api, method)(V1 + path, body)


def _bodies(own_client, own_invoice):
    return {
        "CREATE_BODY": {"clientId": own_client["id"], "lines": [line()], "reason": "Mutat"},
        "APPLY_BODY": {"invoiceId": own_invoice["id"]},
    }


@pytest.fixture
def own(api):
    client = make_client(api)
    invoice = make_invoice(api, client["id"], lines=[line(quantity="10")])
    return {"client": client, "invoice": invoice}


# --- ids in the path ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invoice", "draft", "note", "draft_note"])
@pytest.mark.parametrize("method,path,body", INVOICE_ENDPOINTS + CREDIT_NOTE_ENDPOINTS)
def test_another_companys_document_is_404_everywhere(api, own, foreign, kind, method, path, body):
    document = foreign[kind]
    before = Document.objects.filter(pk=document.pk).values().get()
    body = _bodies(own["client"], own["invoice"]).get(body, body) if isinstance(body, str) else body
    response = call(api, method, path.format(id=document.uuid), body)
    assert_error(response, 404, "not_found")
    assert Document.objects.filter(pk=document.pk).values().get() == before


@pytest.mark.parametrize("method,path,body", INVOICE_ENDPOINTS + CREDIT_NOTE_ENDPOINTS)
def test_an_unknown_document_is_404_everywhere(api, own, method, path, body):
    body = _bodies(own["client"], own["invoice"]).get(body, body) if isinstance(body, str) else body
    assert_error(call(api, method, path.format(id=uuid.uuid4()), body), 404, "not_found")


@pytest.mark.parametrize("method,body", [("get", None), ("patch", {"name": "Furat SRL"}), ("delete", None)])
def test_another_companys_client_is_404(api, foreign, method, body):
    client = foreign["client"]
    assert_error(call(api, method, f"/clients/{client.uuid}", body), 404, "not_found")
    client.refresh_from_db()
    assert client.deleted_at is None and client.name != "Furat SRL"


@pytest.mark.parametrize("method,body", [("get", None), ("patch", {"nextNumber": 999})])
def test_another_companys_series_is_404(api, foreign, method, body):
    series = foreign["series"]
    assert_error(call(api, method, f"/series/{series.uuid}", body), 404, "not_found")
    series.refresh_from_db()
    assert series.next_number != 999


def test_foreign_objects_never_appear_in_lists(api, own, foreign):
    foreign_ids = {str(foreign[k].uuid) for k in ("invoice", "draft", "note", "draft_note")}
    for path in (
        "/invoices?limit=100",
        "/credit_notes?limit=100",
        f"/invoices?clientId={foreign['client'].uuid}",
        f"/credit_notes?parentDocumentId={foreign['invoice'].uuid}",
    ):
        ids = {d["id"] for d in ok(api.get(V1 + path))["data"]}
        assert not ids & foreign_ids, path
    assert ok(api.get(f"{V1}/invoices?clientId={foreign['client'].uuid}"))["total"] == 0
    clients = {c["id"] for c in ok(api.get(f"{V1}/clients?limit=100"))["data"]}
    assert str(foreign["client"].uuid) not in clients
    series = {s["id"] for s in ok(api.get(f"{V1}/series?limit=100"))["data"]}
    assert str(foreign["series"].uuid) not in series
    stats = ok(api.get(f"{V1}/credit_notes/stats"))
    assert stats["total"] == 0


# --- ids in a body ------------------------------------------------------------------------------------


def test_foreign_client_in_body_is_422(api, foreign):
    body = {"clientId": str(foreign["client"].uuid), "lines": [line()]}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "clientId")
    note = {**body, "reason": "x"}
    assert_error(api.post(f"{V1}/credit_notes", note), 422, "validation_error", "clientId")
    assert_error(api.post(f"{V1}/credit_notes/preview", note), 422, "validation_error", "clientId")
    assert_error(api.post(f"{V1}/invoices", {**note, "isCreditNote": True}), 422, "validation_error", "clientId")


def test_foreign_series_in_body_is_422(api, own, foreign):
    body = {"clientId": own["client"]["id"], "lines": [line()], "seriesId": str(foreign["series"].uuid)}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "seriesId")
    foreign_cn = foreign["series"].company.series.get(kind="credit_note")
    note = {**body, "seriesId": str(foreign_cn.uuid), "reason": "x"}
    assert_error(api.post(f"{V1}/credit_notes", note), 422, "validation_error", "seriesId")
    credit = {"seriesId": str(foreign_cn.uuid)}
    assert_error(api.post(f"{V1}/invoices/{own['invoice']['id']}/credit", credit), 422, "validation_error", "seriesId")


def test_foreign_parent_in_body_is_422(api, foreign):
    body = {"parentDocumentId": str(foreign["invoice"].uuid), "reason": "Retur"}
    assert_error(api.post(f"{V1}/credit_notes", body), 422, "validation_error", "parentDocumentId")
    assert_error(api.post(f"{V1}/credit_notes/preview", body), 422, "validation_error", "parentDocumentId")
    body = {**body, "isCreditNote": True}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "parentDocumentId")


def test_foreign_parent_line_in_body_is_422(api, own, foreign):
    body = {"lines": [{"parentLineId": str(foreign["line"].uuid), "quantity": "1"}]}
    response = api.post(f"{V1}/invoices/{own['invoice']['id']}/credit", body)
    assert_error(response, 422, "validation_error", "lines[0].parentLineId")


def test_foreign_invoice_in_apply_body_is_422(api, own, foreign):
    note = make_note(api, own["client"]["id"])
    response = api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": str(foreign["invoice"].uuid)})
    assert_error(response, 422, "validation_error", "invoiceId")
    foreign["invoice"].refresh_from_db()
    assert foreign["invoice"].amount_paid == 0


def test_foreign_ids_in_patch_and_put_bodies_are_422(api, own, foreign):
    draft = make_invoice(api, own["client"]["id"], issue=False)
    path = f"{V1}/invoices/{draft['id']}"
    assert_error(api.patch(path, {"clientId": str(foreign["client"].uuid)}), 422, "validation_error", "clientId")
    assert_error(api.patch(path, {"seriesId": str(foreign["series"].uuid)}), 422, "validation_error", "seriesId")
    put = {"clientId": str(foreign["client"].uuid), "lines": [line()]}
    assert_error(api.put(path, put), 422, "validation_error", "clientId")
    note = make_note(api, own["client"]["id"], issue=False)
    response = api.patch(f"{V1}/credit_notes/{note['id']}", {"clientId": str(foreign["client"].uuid)})
    assert_error(response, 422, "validation_error", "clientId")
    assert ok(api.get(path))["clientId"] == own["client"]["id"]


def test_unknown_ids_in_body_are_422(api, own):
    unknown = str(uuid.uuid4())
    assert_error(
        api.post(f"{V1}/invoices", {"clientId": unknown, "lines": [line()]}), 422, "validation_error", "clientId"
    )
    body = {"clientId": own["client"]["id"], "lines": [line()], "seriesId": unknown}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "seriesId")
    body = {"parentDocumentId": unknown, "reason": "x"}
    assert_error(api.post(f"{V1}/credit_notes", body), 422, "validation_error", "parentDocumentId")
    note = make_note(api, own["client"]["id"])
    assert_error(
        api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": unknown}), 422, "validation_error", "invoiceId"
    )


def test_deleted_ids_in_body_are_422(api, own):
    gone = make_client(api, name="Dispărut SRL")
    assert ok(api.delete(f"{V1}/clients/{gone['id']}"), 204) is None
    body = {"clientId": gone["id"], "lines": [line()]}
    assert_error(api.post(f"{V1}/invoices", body), 422, "validation_error", "clientId")
    draft = make_invoice(api, own["client"]["id"], issue=False)
    api.delete(f"{V1}/invoices/{draft['id']}")
    body = {"parentDocumentId": draft["id"], "reason": "x"}
    assert_error(api.post(f"{V1}/credit_notes", body), 422, "validation_error", "parentDocumentId")
    note = make_note(api, own["client"]["id"])
    assert_error(
        api.post(f"{V1}/credit_notes/{note['id']}/apply", {"invoiceId": draft["id"]}),
        422,
        "validation_error",
        "invoiceId",
    )


# --- the two views of one table -------------------------------------------------------------------------


def test_a_credit_note_is_served_by_invoices_endpoints(api, own):
    note = make_note(api, own["client"]["id"], issue=False)
    body = ok(api.get(f"{V1}/invoices/{note['id']}"))
    assert body["isCreditNote"] is True and body["id"] == note["id"]
    body = ok(api.patch(f"{V1}/invoices/{note['id']}", {"notes": "via invoices"}))
    assert body["notes"] == "via invoices" and body["isCreditNote"] is True
    issued = ok(api.post(f"{V1}/invoices/{note['id']}/issue", {}))
    assert issued["status"] == "issued" and issued["number"].startswith("CN-")


@pytest.mark.parametrize("method,path,body", CREDIT_NOTE_ENDPOINTS)
def test_an_invoice_is_not_a_credit_note(api, own, method, path, body):
    body = _bodies(own["client"], own["invoice"]).get(body, body) if isinstance(body, str) else body
    for invoice in (own["invoice"], make_invoice(api, own["client"]["id"], issue=False)):
        assert_error(call(api, method, path.format(id=invoice["id"]), body), 404, "not_found")


# --- a deleted draft is gone -----------------------------------------------------------------------------


@pytest.mark.parametrize("method,path,body", INVOICE_ENDPOINTS)
def test_deleted_draft_invoice_is_404_everywhere(api, own, method, path, body):
    draft = make_invoice(api, own["client"]["id"], issue=False)
    ok(api.delete(f"{V1}/invoices/{draft['id']}"), 204)
    body = _bodies(own["client"], own["invoice"]).get(body, body) if isinstance(body, str) else body
    assert_error(call(api, method, path.format(id=draft["id"]), body), 404, "not_found")


@pytest.mark.parametrize("method,path,body", INVOICE_ENDPOINTS + CREDIT_NOTE_ENDPOINTS)
def test_deleted_draft_credit_note_is_404_everywhere(api, own, method, path, body):
    draft = make_credit(api, own["invoice"]["id"], issue=False, amount="10.00")
    ok(api.delete(f"{V1}/credit_notes/{draft['id']}"), 204)
    body = _bodies(own["client"], own["invoice"]).get(body, body) if isinstance(body, str) else body
    assert_error(call(api, method, path.format(id=draft["id"]), body), 404, "not_found")


def test_deleted_drafts_leave_every_list(api, own):
    client_id = own["client"]["id"]
    draft = make_invoice(api, client_id, issue=False, notes="șters")
    note = make_credit(api, own["invoice"]["id"], issue=False, amount="10.00", reason="Zzz unic")
    standalone = make_note(api, client_id, issue=False, reason="Zzz singur")
    stats_before = ok(api.get(f"{V1}/credit_notes/stats"))
    assert stats_before["draft"] == 2 and stats_before["total"] == 2
    for document in (draft, note, standalone):
        ok(api.delete(f"{V1}/invoices/{document['id']}"), 204)
    gone = {draft["id"], note["id"], standalone["id"]}
    queries = [
        "/invoices?limit=100",
        "/credit_notes?limit=100",
        "/invoices?status=draft",
        "/credit_notes?status=draft",
        f"/invoices?clientId={client_id}",
        f"/credit_notes?parentDocumentId={own['invoice']['id']}",
        "/invoices?search=zzz",
        "/credit_notes?search=zzz",
        "/invoices?isCreditNote=true",
        "/invoices?isCreditNote=false",
        "/invoices?currency=RON",
        "/invoices?ordering=createdAt",
    ]
    for query in queries:
        page = ok(api.get(V1 + query))
        assert not {d["id"] for d in page["data"]} & gone, query
        assert page["total"] == len(page["data"]), query
    assert ok(api.get(f"{V1}/invoices"))["total"] == 1  # only the issued invoice is left
    stats = ok(api.get(f"{V1}/credit_notes/stats"))
    assert stats["draft"] == 0 and stats["total"] == 0
    # the parent's creditable amount is as if the deleted draft never existed
    creditable = ok(api.get(f"{V1}/invoices/{own['invoice']['id']}/creditable"))
    assert creditable["total"] == own["invoice"]["total"]
    assert ok(api.get(f"{V1}/invoices/{own['invoice']['id']}"))["creditedTotal"] == "0.00"
