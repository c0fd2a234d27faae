"""The legacy facade /api/credit_notes…: the same objects, auth and errors as v1, on the old paths."""

import pytest

from invoices.models import Document
from tests.api.conftest import V1, assert_error, line, make_credit, make_invoice, make_note, ok
from tests.conftest import JsonClient

LEGACY = "/api"


def integer_key(document: dict) -> int:
    return Document.objects.get(uuid=document["id"]).pk


def test_add_a_credit_note_and_read_it_by_uuid_and_by_integer_key(api, client_):
    body = {"clientId": client_["id"], "reason": "Retur", "lines": [line(quantity="1")]}
    added = ok(api.post(f"{LEGACY}/credit_notes", body), 201)
    assert added["isCreditNote"] is True and added["status"] == "draft" and added["total"] == "-121.00"
    assert ok(api.get(f"{LEGACY}/credit_notes/{added['id']}")) == added
    assert ok(api.get(f"{LEGACY}/credit_notes/{integer_key(added)}")) == added
    assert ok(api.get(f"{V1}/credit_notes/{added['id']}")) == added


def test_list_pages_with_nr_page_and_per_page(api, client_):
    notes = [make_note(api, client_["id"]) for _ in range(3)]
    first = ok(api.get(f"{LEGACY}/credit_notes?nr_page=1&per_page=2"))
    assert (first["total"], first["page"], first["limit"], first["pages"], len(first["data"])) == (3, 1, 2, 2, 2)
    second = ok(api.get(f"{LEGACY}/credit_notes?nr_page=2&per_page=2"))
    assert len(second["data"]) == 1
    assert {d["id"] for d in first["data"] + second["data"]} == {n["id"] for n in notes}
    assert ok(api.get(f"{LEGACY}/credit_notes?nr_page=9&per_page=2"))["data"] == []


def test_the_list_holds_credit_notes_only(api, client_):
    invoice = make_invoice(api, client_["id"])
    note = make_credit(api, invoice["id"])
    assert [d["id"] for d in ok(api.get(f"{LEGACY}/credit_notes"))["data"]] == [note["id"]]
    assert_error(api.get(f"{LEGACY}/credit_notes/{invoice['id']}"), 404, "not_found")
    assert_error(api.get(f"{LEGACY}/credit_notes/{integer_key(invoice)}"), 404, "not_found")


@pytest.mark.parametrize("query", ["nr_page=0", "per_page=101", "per_page=0", "nr_page=x"])
def test_bad_paging_is_422(api, query):
    field = query.split("=")[0]
    assert_error(api.get(f"{LEGACY}/credit_notes?{query}"), 422, "validation_error", field)


def test_search_by_number_client_name_or_reason(api, client_):
    wanted = make_note(api, client_["id"], reason="Marfă returnată")
    make_note(api, client_["id"], reason="Discount")
    found = ok(api.get(f"{LEGACY}/credit_notes/search/marfa returnata"))
    assert [d["id"] for d in found["data"]] == [wanted["id"]] and found["total"] == 1
    by_number = ok(api.get(f"{LEGACY}/credit_notes/search/{wanted['number']}"))
    assert [d["id"] for d in by_number["data"]] == [wanted["id"]]
    assert ok(api.get(f"{LEGACY}/credit_notes/search/nimic?per_page=5"))["data"] == []


def test_put_replaces_a_draft_and_refuses_an_issued_note(api, client_):
    draft = make_note(api, client_["id"], issue=False)
    body = {"clientId": client_["id"], "reason": "Alt motiv", "lines": [line(quantity="3", unit_price="10.00")]}
    replaced = ok(api.put(f"{LEGACY}/credit_notes/{integer_key(draft)}", body))
    assert (replaced["reason"], replaced["total"], len(replaced["lines"])) == ("Alt motiv", "-36.30", 1)
    issued = make_note(api, client_["id"])
    assert_error(api.put(f"{LEGACY}/credit_notes/{issued['id']}", body), 409, "invalid_state")


def test_delete_a_draft_on_the_old_path(api, client_):
    draft = make_note(api, client_["id"], issue=False)
    response = api.delete(f"{LEGACY}/delete/credit_notes/{integer_key(draft)}")
    assert response.status_code == 204
    assert_error(api.get(f"{LEGACY}/credit_notes/{draft['id']}"), 404, "not_found")
    issued = make_note(api, client_["id"])
    assert_error(api.delete(f"{LEGACY}/delete/credit_notes/{issued['id']}"), 409, "invalid_state")


def test_each_path_answers_only_its_methods(api, client_):
    draft = make_note(api, client_["id"], issue=False)
    assert_error(api.delete(f"{LEGACY}/credit_notes/{draft['id']}"), 405, "method_not_allowed")
    assert_error(api.patch(f"{LEGACY}/credit_notes/{draft['id']}", {}), 405, "method_not_allowed")
    assert_error(api.get(f"{LEGACY}/delete/credit_notes/{draft['id']}"), 405, "method_not_allowed")
    assert_error(api.post(f"{LEGACY}/credit_notes/search/x", {}), 405, "method_not_allowed")
    assert ok(api.get(f"{LEGACY}/credit_notes/{draft['id']}"))["status"] == "draft"


def test_same_auth_and_tenancy(api, token, foreign):
    assert_error(JsonClient().get(f"{LEGACY}/credit_notes"), 401, "unauthorized")
    assert ok(JsonClient(token).get(f"{LEGACY}/credit_notes"))["total"] == 0
    theirs = foreign["note"]
    for ref in (theirs.uuid, theirs.pk):
        assert_error(api.get(f"{LEGACY}/credit_notes/{ref}"), 404, "not_found")
        assert_error(api.delete(f"{LEGACY}/delete/credit_notes/{foreign['draft_note'].pk}"), 404, "not_found")
    assert_error(api.get(f"{LEGACY}/credit_notes/not-an-id"), 404, "not_found")


def test_search_takes_the_list_filters_and_refuses_bad_ones(api, client_):
    issued = make_note(api, client_["id"], reason="Marfă returnată")
    make_note(api, client_["id"], reason="Marfă lipsă", issue=False)
    found = ok(api.get(f"{LEGACY}/credit_notes/search/marfa?status=issued"))
    assert [d["id"] for d in found["data"]] == [issued["id"]]
    assert_error(api.get(f"{LEGACY}/credit_notes/search/marfa?status=bogus"), 422, "validation_error", "status")
