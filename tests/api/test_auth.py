"""Authentication, company selection, throttling and the management commands (API.md "Authentication and tenancy")."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiToken, Company, Membership
from accounts.services import api_token_create, api_token_revoke, membership_add, user_get_or_create
from accounts.throttling import TokenRateThrottle
from numbering.models import Series
from tests.api.conftest import V1, assert_error, ok
from tests.conftest import JsonClient

pytestmark = pytest.mark.django_db


# --- tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["authtoken", "bearer"])
def test_token_in_either_header(token, company, header):
    api = JsonClient(token, header=header)
    body = ok(api.get(f"{V1}/company"))
    assert body["id"] == str(company.uuid)


def test_bearer_scheme_is_case_insensitive(token, company):
    api = JsonClient()
    ok(api.get(f"{V1}/company", Authorization=f"bearer {token}"))


def test_no_token_is_401(company):
    response = JsonClient().get(f"{V1}/invoices")
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "headers",
    [
        {"authtoken": "stn_not-a-real-token"},
        {"Authorization": "Bearer stn_not-a-real-token"},
        {"Authorization": "Token stn_not-a-real-token"},  # not a scheme the API takes: no credentials
        {"Authorization": "Bearer"},
    ],
)
def test_unknown_token_is_401(company, user, headers):
    response = JsonClient().get(f"{V1}/invoices", **headers)
    assert_error(response, 401, "unauthorized")


def test_revoked_token_is_401(user, company):
    token, key = api_token_create(user=user, name="revoked")
    api = JsonClient(key)
    ok(api.get(f"{V1}/company"))
    api_token_revoke(token=token)
    assert_error(api.get(f"{V1}/company"), 401, "unauthorized")


def test_expired_token_is_401(user, company):
    _, key = api_token_create(user=user, name="old", expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(JsonClient(key).get(f"{V1}/company"), 401, "unauthorized")


def test_token_not_yet_expired_works(user, company):
    _, key = api_token_create(user=user, name="new", expires_at=timezone.now() + timedelta(days=1))
    ok(JsonClient(key).get(f"{V1}/company"))


def test_token_of_inactive_user_is_401(user, token, company):
    user.is_active = False
    user.save()
    assert_error(JsonClient(token).get(f"{V1}/company"), 401, "unauthorized")


def test_401_also_on_writes_and_unknown_ids(company):
    api = JsonClient("stn_nope")
    assert_error(api.post(f"{V1}/invoices", {}), 401, "unauthorized")
    assert_error(api.delete(f"{V1}/invoices/{uuid.uuid4()}"), 401, "unauthorized")
    assert_error(api.post(f"{V1}/credit_notes/{uuid.uuid4()}/void"), 401, "unauthorized")


def test_only_a_hash_of_the_token_is_stored(user, company):
    token, key = api_token_create(user=user)
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in {stored.key_hash, stored.prefix, stored.name}
    assert len(stored.key_hash) == 64


# --- X-Company ------------------------------------------------------------------------------------------


def test_x_company_may_be_omitted_with_one_membership(token, company):
    body = ok(JsonClient(token).get(f"{V1}/company"))
    assert body["id"] == str(company.uuid)


def test_x_company_chooses_the_company(token, company):
    body = ok(JsonClient(token, company.uuid).get(f"{V1}/company"))
    assert body["uuid"] == str(company.uuid)


def test_x_company_required_with_two_memberships(user, token, company, other_company):
    membership_add(user=user, company=other_company)
    assert_error(JsonClient(token).get(f"{V1}/company"), 403, "forbidden")
    assert_error(JsonClient(token).get(f"{V1}/invoices"), 403, "forbidden")
    assert ok(JsonClient(token, other_company.uuid).get(f"{V1}/company"))["id"] == str(other_company.uuid)
    assert ok(JsonClient(token, company.uuid).get(f"{V1}/company"))["id"] == str(company.uuid)


@pytest.mark.parametrize("value", ["not-a-uuid", "123", "' OR 1=1 --", "00000000-0000-0000-0000-00000000000g"])
def test_malformed_x_company_is_403(token, company, value):
    assert_error(JsonClient(token).get(f"{V1}/company", **{"X-Company": value}), 403, "forbidden")


def test_x_company_of_a_company_the_user_is_not_in_is_403(token, company, other_company):
    assert_error(JsonClient(token, other_company.uuid).get(f"{V1}/company"), 403, "forbidden")
    assert_error(JsonClient(token, other_company.uuid).post(f"{V1}/clients", {"name": "X"}), 403, "forbidden")


def test_x_company_unknown_uuid_is_403(token, company):
    assert_error(JsonClient(token, uuid.uuid4()).get(f"{V1}/invoices"), 403, "forbidden")


def test_user_without_company_is_403(db, company):
    loner = user_get_or_create(username="loner")
    _, key = api_token_create(user=loner)
    assert_error(JsonClient(key).get(f"{V1}/company"), 403, "forbidden")


# --- throttling ---------------------------------------------------------------------------------------------


def test_throttled_after_the_limit(token, company, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    api = JsonClient(token, company.uuid)
    for _ in range(3):
        ok(api.get(f"{V1}/company"))
    response = api.get(f"{V1}/company")
    assert_error(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60


def test_throttle_counts_per_token(user, token, company, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    first = JsonClient(token, company.uuid)
    ok(first.get(f"{V1}/company"))
    ok(first.get(f"{V1}/company"))
    assert_error(first.get(f"{V1}/company"), 429, "rate_limited")
    _, other_key = api_token_create(user=user, name="second")
    ok(JsonClient(other_key, company.uuid).get(f"{V1}/company"))


def test_throttle_applies_to_errors_too(token, company, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1/min"})
    api = JsonClient(token, company.uuid)
    assert_error(api.get(f"{V1}/invoices/{uuid.uuid4()}"), 404, "not_found")
    response = api.get(f"{V1}/invoices/{uuid.uuid4()}")
    assert_error(response, 429, "rate_limited")
    assert response.has_header("Retry-After")


# --- management commands ---------------------------------------------------------------------------------


def run(command, *args, **options) -> list[str]:
    out = StringIO()
    call_command(command, *args, stdout=out, **options)
    return [line for line in out.getvalue().splitlines() if line.strip()]


def test_create_company_prints_uuid_and_sets_everything_up(db):
    lines = run(
        "create_company",
        "--name",
        "Nouă Firmă SRL",
        "--cif",
        "RO14399840",
        "--owner",
        "maria",
        "--address",
        "Str. Lungă 3",
        "--city",
        "Brașov",
        "--county",
        "BV",
        "--registration-number",
        "J08/1/2024",
    )
    company = Company.objects.get(uuid=uuid.UUID(lines[-1]))
    assert company.name == "Nouă Firmă SRL"
    assert company.cif == "14399840"
    assert company.county == "RO-BV"
    assert company.currency == "RON"
    kinds = {(s.kind, s.is_default) for s in Series.objects.filter(company=company)}
    assert ("invoice", True) in kinds and ("credit_note", True) in kinds
    membership = Membership.objects.get(company=company, user__username="maria")
    assert membership.role == "owner"


def test_create_company_then_create_api_token_gives_a_working_token(db):
    company_id = run("create_company", "--name", "Token Test SRL", "--cif", "18547290", "--owner", "ion")[-1]
    key = run("create_api_token", "ion", "--name", "cli")[-1]
    api = JsonClient(key)  # one membership: X-Company may be omitted
    body = ok(api.get(f"{V1}/company"))
    assert body["id"] == company_id
    series = ok(api.get(f"{V1}/series"))
    assert {s["name"] for s in series["data"]} >= {"FAC", "CN"}
    assert ok(JsonClient(key, company_id).get(f"{V1}/invoices"))["total"] == 0


def test_create_api_token_with_expiry_works_until_then(db, company):
    user = user_get_or_create(username="vlad")
    membership_add(user=user, company=company)
    key = run("create_api_token", "vlad", "--expires-in-days", "30")[-1]
    ok(JsonClient(key).get(f"{V1}/company"))
    token = ApiToken.objects.get(user=user)
    assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=29)


def test_create_company_currency_option(db):
    company_id = run("create_company", "--name", "Euro SRL", "--cif", "18547290", "--currency", "EUR")[-1]
    assert Company.objects.get(uuid=company_id).currency == "EUR"


def test_failed_authentications_are_throttled_per_address(token, settings):
    settings.AUTH_FAILURE_RATE = "3/min"
    guesser = JsonClient("stn_guess")
    for _ in range(3):
        assert_error(guesser.get(f"{V1}/company"), 401, "unauthorized")
    refused = guesser.get(f"{V1}/company")
    assert_error(refused, 429, "rate_limited")
    assert 0 < int(refused["Retry-After"]) <= 60
    # The address is refused outright, a valid token included, until the window ends.
    assert_error(JsonClient(token).get(f"{V1}/company"), 429, "rate_limited")
    elsewhere = JsonClient(token).client.get(f"{V1}/company", headers={"authtoken": token}, REMOTE_ADDR="10.9.9.9")
    assert elsewhere.status_code == 200  # another address is unaffected
