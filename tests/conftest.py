import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from accounts.services import api_token_create, company_create, membership_add, user_get_or_create
from tests import factories

# CI replays the same examples every run, so a red build always means a change broke something; local runs
# draw new examples each time and keep exploring.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit(
                "The test suite needs PostgreSQL: set DATABASE_URL (make test does: "
                "postgres://postgres@127.0.0.1:5432/stornare_test).",
                returncode=2,
            )


@pytest.fixture(autouse=True, scope="session")
def validation_artifacts():
    """The official UBL 2.1 XSD and CIUS-RO schematron for the whole suite. They are reference data kept beside the
    repository, and without them validation skips its XSD and schematron: the suite must stop rather than pass."""
    repository = Path(__file__).resolve().parent.parent
    folder = Path(os.environ.get("EINVOICE_VALIDATION_DIR") or repository.parent / "shared" / "validation")
    if not folder.is_dir():
        pytest.exit(
            f"The e-Factura validation artifacts are not at {folder}: set EINVOICE_VALIDATION_DIR to the folder "
            "holding ubl-2.1-xsd/ and cius-ro/ (by default ../shared/validation beside the repository).",
            returncode=2,
        )
    previous = settings.EINVOICE_VALIDATION_DIR
    settings.EINVOICE_VALIDATION_DIR = str(folder)
    yield folder
    settings.EINVOICE_VALIDATION_DIR = previous


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    """Throttle and failed-authentication counters live in the cache; each test starts (and leaves) with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(db):
    return factories.company()


@pytest.fixture
def user(db, company):
    user = user_get_or_create(username="ana")
    membership_add(user=user, company=company)
    return user


@pytest.fixture
def token(user):
    _, key = api_token_create(user=user, name="tests")
    return key


class JsonClient:
    """An API client that speaks JSON; `response.data_json` is the parsed body (None when there is none).

    A server error is answered as the 500 a real client would get, not raised into the test."""

    def __init__(self, token: str | None = None, company_id=None, header: str = "authtoken"):
        self.client = APIClient(raise_request_exception=False)
        self.headers = {}
        if token:
            self.headers["authtoken" if header == "authtoken" else "Authorization"] = (
                token if header == "authtoken" else f"Bearer {token}"
            )
        if company_id:
            self.headers["X-Company"] = str(company_id)

    def request(self, method: str, path: str, body=None, **headers):
        kwargs = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method)(path, **kwargs)
        try:
            response.data_json = json.loads(response.content) if response.content else None
        except ValueError:
            response.data_json = None
        return response

    def get(self, path, **headers):
        return self.request("get", path, **headers)

    def post(self, path, body=None, **headers):
        return self.request("post", path, body, **headers)

    def patch(self, path, body=None, **headers):
        return self.request("patch", path, body, **headers)

    def put(self, path, body=None, **headers):
        return self.request("put", path, body, **headers)

    def delete(self, path, **headers):
        return self.request("delete", path, **headers)


@pytest.fixture
def api(token, company):
    return JsonClient(token, company.uuid)


@pytest.fixture
def other_company(db):
    return company_create(name="Alt SRL", cif="14399840", county="RO-IS", city="Iași", address="Str. Lăpușneanu 1")
