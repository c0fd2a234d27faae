"""Tenancy over every route of the URL conf: a route added later is walked too, so none can be forgotten."""

import pytest

from tests.api.conftest import assert_error
from tests.api.test_openapi import api_routes, methods_of
from tests.conftest import JsonClient

# What the {id} of each route family names, among another company's objects (the `foreign` fixture).
ID_OWNERS = {
    "/api/v1/invoices/": "invoice",
    "/api/v1/credit_notes/": "note",
    "/api/v1/clients/": "client",
    "/api/v1/series/": "series",
    "/api/credit_notes/": "note",
    "/api/delete/credit_notes/": "draft_note",
}
ROUTES = sorted((path, method) for path, view in api_routes() for method in methods_of(view))


def owner_of(path: str) -> str:
    return next(owner for prefix, owner in ID_OWNERS.items() if path.startswith(prefix))


@pytest.mark.parametrize("path, method", [r for r in ROUTES if "{id}" in r[0]])
def test_another_companys_id_in_the_path_is_404(api, foreign, path, method):
    target = foreign[owner_of(path)]
    references = [target.uuid] + ([target.pk] if path.startswith(("/api/credit_notes", "/api/delete")) else [])
    for reference in references:
        response = api.request(method, path.format(id=reference), {} if method != "get" else None)
        assert_error(response, 404, "not_found")
    target.refresh_from_db()  # untouched
    assert getattr(target, "deleted_at", None) is None


@pytest.mark.parametrize("path, method", ROUTES)
def test_a_company_the_user_is_not_in_is_403_everywhere(token, foreign, other_company, path, method):
    outsider = JsonClient(token, other_company.uuid)
    url = path.format(id=foreign[owner_of(path)].uuid if "{id}" in path else "", term="x")
    response = outsider.request(method, url, {} if method != "get" else None)
    assert_error(response, 403, "forbidden")
