"""The OpenAPI schema: valid, complete (generated from the URL conf, so no endpoint can be forgotten),
and carrying the conventions every operation shares."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from tests.conftest import JsonClient

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
NOT_IN_SCHEMA = ("api/schema/", "api/docs/")


def api_routes(patterns=None, prefix=""):
    """(OpenAPI path, view class) for every API route of the URL conf."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/") and route not in NOT_IN_SCHEMA:
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route), pattern.callback.view_class


def methods_of(view_class):
    return {m for m in HTTP_METHODS if m in view_class.http_method_names and hasattr(view_class, m)}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = JsonClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.data_json


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_endpoint_and_method_is_in_the_schema(schema):
    routes = list(api_routes())
    assert len(routes) >= 24  # 20 routes of /api/v1 and 4 of the legacy facade, at least
    missing = [
        f"{method.upper()} {path}"
        for path, view_class in routes
        for method in methods_of(view_class)
        if method not in schema["paths"].get(path, {})
    ]
    assert not missing, missing


def test_every_operation_has_a_body_schema_and_the_shared_conventions(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"}
    assert schemes["authtoken"]["in"] == "header" and schemes["authtoken"]["name"] == "authtoken"
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
            assert "X-Company" in headers, where
            assert ("Idempotency-Key" in headers) == (method == "post"), where
            assert {"bearerAuth": []} in operation["security"] and {"authtoken": []} in operation["security"], where
            for status in ("401", "403", "422", "429"):
                assert operation["responses"][status]["content"]["application/json"]["schema"] == error_ref, where
            success = [s for s in operation["responses"] if s.startswith("2")]
            assert success, where
            if method in ("post", "put", "patch") and not path.endswith(("/issue", "/void", "/einvoice")):
                assert "requestBody" in operation, where


def test_lists_document_their_envelope_and_filters(schema):
    listing = schema["paths"]["/api/v1/invoices"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"page", "limit", "isCreditNote", "status", "from", "to", "clientId", "search", "ordering"} <= names
    page = schema["components"]["schemas"]["DocumentPage"]
    assert set(page["properties"]) == {"data", "total", "page", "limit", "pages"}
    legacy = {p["name"] for p in schema["paths"]["/api/credit_notes"]["get"]["parameters"]}
    assert {"nr_page", "per_page"} <= legacy


def test_the_docs_page_is_served_with_local_assets(db):
    response = JsonClient().client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()


def test_bodies_valid_for_both_kinds_of_document_validate(schema):
    """A PATCH of `notes` is valid for an invoice and a credit note alike: anyOf, never exactly-one-of."""
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    registry = Registry().with_resource("urn:stornare-api", DRAFT4.create_resource(schema))

    def validates(component: str, body: dict) -> bool:
        validator = OAS30Validator({"$ref": f"urn:stornare-api#/components/schemas/{component}"}, registry=registry)
        return validator.is_valid(body)

    assert validates("PatchedDocumentInRequest", {"notes": "Livrare parțială"})
    line = {"description": "x", "quantity": "1", "unitPrice": "10.00", "vatRate": "21"}
    credit_note = {
        "isCreditNote": True,
        "clientId": "6f1c1b7e-4d7a-4c63-9f55-1c2b3a4d5e6f",
        "reason": "r",
        "lines": [line],
    }
    assert validates("DocumentInRequest", credit_note)


def test_the_legacy_lists_document_only_the_parameters_they_read(schema):
    listing = {p["name"] for p in schema["paths"]["/api/credit_notes"]["get"]["parameters"]}
    assert {"nr_page", "per_page", "status"} <= listing and not {"page", "limit"} & listing
    search = {p["name"] for p in schema["paths"]["/api/credit_notes/search/{term}"]["get"]["parameters"]}
    assert {"nr_page", "per_page", "term", "status"} <= search and not {"page", "limit", "search"} & search
