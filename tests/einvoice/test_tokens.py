"""ANAF OAuth tokens (einvoice.tokens) and `manage.py anaf_authorize`, against the simulator over real HTTP.

The simulator's token endpoint is the identity provider: it checks the client's Basic credentials, rotates the
refresh token on every refresh and counts every rotated refresh token presented again, which is what two workers
refreshing at once would do.
"""

import base64
import datetime
import functools
import io
import json
import logging
from unittest import mock
from urllib.parse import urlparse

import httpx
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from config.errors import RuleViolation
from einvoice import tokens
from einvoice.anaf import oauth
from einvoice.anaf.client import TerminalError
from einvoice.anaf.simulator import AUTHORIZE_PATH, TOKEN_PATH, Simulator, serve
from einvoice.models import AnafCredentials, TokenHealth
from tests.concurrency.conftest import run_before, run_concurrently, split, wait_until

CLIENT_ID = "stornare-test-client"
CLIENT_SECRET = "stornare-test-secret"
REDIRECT_URI = "https://stornare.example/anaf/callback"
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def server(tmp_path):
    """The simulator on a free port; its token endpoint takes only CLIENT_ID with CLIENT_SECRET."""
    server = serve(port=0, simulator=Simulator(tmp_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    yield server
    server.shutdown()


@pytest.fixture
def oauth_url(server):
    assert TOKEN_PATH == "/anaf-oauth2/v1/token"  # oauth posts to {base_url}token
    return server.url + "/anaf-oauth2/v1/"


def authorize(company, server, *, access_seconds: int) -> AnafCredentials:
    """The company's client, and a token pair the simulator issued whose access token lasts `access_seconds`."""
    credentials = AnafCredentials.objects.create(
        company=company, client_id=CLIENT_ID, client_secret=tokens.seal(CLIENT_SECRET), redirect_uri=REDIRECT_URI
    )
    answer = server.simulator.issue_tokens(access_token_seconds=access_seconds)
    issued = oauth.Tokens(
        access_token=answer["access_token"],
        refresh_token=answer["refresh_token"],
        expires_at=timezone.now() + datetime.timedelta(seconds=answer["expires_in"]),
    )
    tokens.store(credentials, issued)
    return credentials


def stored(company) -> tuple[str, str]:
    credentials = AnafCredentials.objects.get(company=company)
    return tokens.unseal(credentials.access_token), tokens.unseal(credentials.refresh_token)


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def refresh_directly(refresh_token: str, oauth_url: str) -> oauth.Tokens:
    return oauth.refresh(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=refresh_token, base_url=oauth_url
    )


# --- at rest -------------------------------------------------------------------------------------------------------


def test_the_secret_and_tokens_are_stored_encrypted(company, server):
    credentials = authorize(company, server, access_seconds=90 * 86400)
    access, refresh = stored(company)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret, access_token, refresh_token FROM einvoice_anafcredentials WHERE id = %s",
            [credentials.pk],
        )
        in_database = [bytes(value) for value in cursor.fetchone()]
    for plain, sealed in zip((CLIENT_SECRET, access, refresh), in_database, strict=True):
        assert plain.encode() not in sealed
        for part in plain.split("."):  # nor any part of a JWT (its header is the same in both tokens)
            assert part.encode() not in sealed
        assert tokens.unseal(sealed) == plain


@pytest.mark.parametrize("secret", ["", "x", "ăîșțâ ĂÎȘȚÂ", "eyJ0eXAi." * 200])
def test_unseal_reverses_seal(secret):
    sealed = tokens.seal(secret)
    assert tokens.unseal(sealed) == secret
    assert tokens.unseal(memoryview(sealed)) == secret  # as a BinaryField reads back
    assert tokens.seal(secret) != sealed  # a fresh IV each time: equal secrets do not look equal at rest


@pytest.mark.parametrize("setting", ["EINVOICE_TOKEN_KEY", "SECRET_KEY"])
def test_a_changed_key_makes_the_tokens_unreadable_with_a_clear_rule_violation(
    company, server, oauth_url, settings, setting
):
    settings.EINVOICE_TOKEN_KEY = Fernet.generate_key().decode() if setting == "EINVOICE_TOKEN_KEY" else ""
    credentials = authorize(company, server, access_seconds=90 * 86400)
    if setting == "EINVOICE_TOKEN_KEY":
        settings.EINVOICE_TOKEN_KEY = Fernet.generate_key().decode()
    else:  # the key derived from SECRET_KEY
        settings.SECRET_KEY = settings.SECRET_KEY + "-rotated"

    with pytest.raises(RuleViolation) as unreadable:
        tokens.unseal(credentials.access_token)
    assert unreadable.value.status == 422
    assert "authorize again" in unreadable.value.message
    with pytest.raises(RuleViolation, match="key changed"):
        tokens.access_token(company, oauth_base_url=oauth_url)


def test_a_company_that_never_authorized_is_told_to(company, oauth_url):
    AnafCredentials.objects.create(
        company=company, client_id=CLIENT_ID, client_secret=tokens.seal(CLIENT_SECRET), redirect_uri=REDIRECT_URI
    )
    with pytest.raises(RuleViolation, match="anaf_authorize"):
        tokens.access_token(company, oauth_base_url=oauth_url)


# --- refresh -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("left", [90 * DAY, DAY + HOUR], ids=["90 days", "25 hours"])
def test_a_fresh_access_token_is_returned_without_asking_anaf(company, server, oauth_url, left):
    authorize(company, server, access_seconds=int(left.total_seconds()))
    access, refresh = stored(company)
    with mock.patch.object(oauth, "refresh", wraps=oauth.refresh) as idp:
        assert tokens.access_token(company, oauth_base_url=oauth_url) == access
    idp.assert_not_called()
    assert stored(company) == (access, refresh)


def test_an_access_token_expiring_within_a_day_is_refreshed_and_both_new_tokens_are_stored(company, server, oauth_url):
    authorize(company, server, access_seconds=int((DAY - HOUR).total_seconds()))
    old_access, old_refresh = stored(company)

    with mock.patch.object(oauth, "refresh", wraps=oauth.refresh) as idp:
        access = tokens.access_token(company, oauth_base_url=oauth_url)

    assert idp.call_count == 1
    assert access != old_access
    credentials = AnafCredentials.objects.get(company=company)
    new_access, new_refresh = stored(company)
    assert new_access == access
    assert new_refresh != old_refresh
    assert credentials.access_expires_at > timezone.now() + 89 * DAY
    assert credentials.refresh_expires_at > timezone.now() + 364 * DAY  # read from the new refresh token
    assert credentials.refreshed_at > timezone.now() - HOUR
    assert credentials.health == TokenHealth.OK
    # ANAF rotated the refresh token: the old one is dead, and the stored one is the one that works.
    with pytest.raises(TerminalError, match="already used"):
        refresh_directly(old_refresh, oauth_url)
    refresh_directly(new_refresh, oauth_url)
    # Later calls use the refreshed token without asking again.
    with mock.patch.object(oauth, "refresh", wraps=oauth.refresh) as idp:
        assert tokens.access_token(company, oauth_base_url=oauth_url) == access
    idp.assert_not_called()


@pytest.mark.parametrize("how", ["revoked", "rotated elsewhere"])
def test_a_refused_refresh_marks_the_credentials_failed_and_raises(company, server, oauth_url, caplog, how):
    authorize(company, server, access_seconds=int((DAY - HOUR).total_seconds()))
    before = stored(company)
    if how == "revoked":
        server.simulator.reset()  # forgets every token it issued
    else:
        refresh_directly(before[1], oauth_url)  # someone else used the refresh token: it rotated away

    with caplog.at_level(logging.ERROR, logger="einvoice.tokens"), pytest.raises(TerminalError, match="invalid_grant"):
        tokens.access_token(company, oauth_base_url=oauth_url)

    credentials = AnafCredentials.objects.get(company=company)
    assert credentials.health == TokenHealth.FAILED
    assert stored(company) == before  # nothing half-written
    assert any("authorize again" in record.getMessage() for record in caplog.records)


# --- health --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "health"),
    [
        (None, TokenHealth.OK),
        (31 * DAY, TokenHealth.OK),
        (30 * DAY, TokenHealth.EXPIRING),
        (DAY, TokenHealth.EXPIRING),
        (-datetime.timedelta(seconds=1), TokenHealth.EXPIRED),
    ],
)
def test_health_follows_the_refresh_tokens_expiry(left, health):
    credentials = AnafCredentials(refresh_expires_at=None if left is None else timezone.now() + left)
    assert tokens.health_of(credentials) == health


def test_a_refresh_that_leaves_30_days_or_less_marks_the_health_expiring_and_warns(company, server, oauth_url, caplog):
    authorize(company, server, access_seconds=int((DAY - HOUR).total_seconds()))
    assert AnafCredentials.objects.get(company=company).health == TokenHealth.OK
    server.simulator.refresh_token_seconds = 20 * 86400  # the refresh tokens it issues from now on

    with caplog.at_level(logging.WARNING, logger="einvoice.tokens"):
        tokens.access_token(company, oauth_base_url=oauth_url)

    credentials = AnafCredentials.objects.get(company=company)
    assert credentials.health == TokenHealth.EXPIRING
    assert timezone.now() + 19 * DAY < credentials.refresh_expires_at <= timezone.now() + 20 * DAY
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "expiring" in warnings[0].getMessage() and "anaf_authorize" in warnings[0].getMessage()
    assert str(company) in warnings[0].getMessage()


def test_a_refresh_token_entering_its_last_30_days_between_refreshes_marks_the_health_expiring(
    company, server, oauth_url, caplog
):
    authorize(company, server, access_seconds=90 * 86400)
    # Time passes: the refresh token, stored with a year left, now has 20 days left; the access token is fresh.
    AnafCredentials.objects.filter(company=company).update(refresh_expires_at=timezone.now() + 20 * DAY)

    with caplog.at_level(logging.WARNING, logger="einvoice.tokens"):
        tokens.access_token(company, oauth_base_url=oauth_url)

    assert AnafCredentials.objects.get(company=company).health == TokenHealth.EXPIRING
    assert any(record.levelno == logging.WARNING for record in caplog.records)


# --- two workers at once -------------------------------------------------------------------------------------------


def _blocking_someone() -> bool:
    """Whether another backend waits for a lock this connection holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
        return cursor.fetchone()[0] > 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_make_one_refresh_and_share_its_token(company, server, oauth_url):
    authorize(company, server, access_seconds=int(HOUR.total_seconds()))
    old_access, _ = stored(company)

    def worker():
        return lambda: tokens.access_token(company, oauth_base_url=oauth_url)

    # The worker that takes the row lock first asks ANAF only once the other is waiting for that lock: the
    # other has already read the expiring token, so it must re-read it after the lock, not refresh again.
    hold = functools.partial(wait_until, _blocking_someone, what="the other worker to wait for the row lock")
    with run_before("einvoice.anaf.oauth.refresh", hold) as idp:
        successes, failures = split(run_concurrently([worker, worker]))

    assert not failures
    assert idp.call_count == 1
    assert server.simulator.refresh_token_reuses() == 0
    access, _ = stored(company)
    assert access != old_access
    assert [outcome.value for outcome in successes] == [access, access]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_many_workers_at_a_barrier_make_one_refresh(company, server, oauth_url):
    authorize(company, server, access_seconds=int(HOUR.total_seconds()))

    with mock.patch.object(oauth, "refresh", wraps=oauth.refresh) as idp:
        successes, failures = split(
            run_concurrently([lambda: lambda: tokens.access_token(company, oauth_base_url=oauth_url)] * 8)
        )

    assert not failures
    assert idp.call_count == 1
    assert server.simulator.refresh_token_reuses() == 0
    assert {outcome.value for outcome in successes} == {stored(company)[0]}


# --- manage.py anaf_authorize --------------------------------------------------------------------------------------


@pytest.fixture
def command_idp(monkeypatch, oauth_url):
    """Points the command at the simulator's identity provider: the default of its --oauth-url option."""
    monkeypatch.setattr(oauth, "OAUTH_BASE_URL", oauth_url)


def run_authorize(*arguments: str) -> str:
    out = io.StringIO()
    call_command("anaf_authorize", *arguments, stdout=out)
    return out.getvalue()


def test_authorize_stores_the_tokens_then_a_second_run_reuses_the_stored_client(
    company, server, oauth_url, command_idp
):
    output = run_authorize(
        "--company",
        str(company.uuid),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        REDIRECT_URI,
        "--code",
        server.simulator.authorization_code(REDIRECT_URI),
    )

    assert "Stored." in output
    assert f"client_id={CLIENT_ID}" in output and "state=" in output  # the authorize address to open
    credentials = AnafCredentials.objects.get(company=company)
    assert credentials.client_id == CLIENT_ID and credentials.redirect_uri == REDIRECT_URI
    assert tokens.unseal(credentials.client_secret) == CLIENT_SECRET
    first_access, first_refresh = stored(company)
    assert claims(first_access)["clientappid"] == CLIENT_ID and claims(first_access)["token_type"] == "Bearer"
    assert credentials.access_expires_at > timezone.now() + 89 * DAY
    assert credentials.health == TokenHealth.OK

    # Only the company (by CIF this time) and a new code: the client id, secret and callback are the stored ones,
    # which the simulator checks (it takes no other client, and the code is bound to the callback).
    output = run_authorize("--company", company.cif, "--code", server.simulator.authorization_code(REDIRECT_URI))

    assert "Stored." in output
    assert AnafCredentials.objects.filter(company=company).count() == 1
    second_access, second_refresh = stored(company)
    assert second_access != first_access and second_refresh != first_refresh
    refresh_directly(second_refresh, oauth_url)


def test_authorize_follows_the_printed_address_and_takes_the_pasted_redirect(company, server, command_idp, monkeypatch):
    """The interactive path: the person opens the printed address (here, the simulator's authorize step, which
    approves at once) and pastes the address it redirected to, whose state is this run's."""
    out = io.StringIO()

    def browser(prompt: str) -> str:
        printed = next(line for line in out.getvalue().splitlines() if "/authorize?" in line)
        response = httpx.get(server.url + AUTHORIZE_PATH + "?" + urlparse(printed).query)
        assert response.status_code == 302
        return response.headers["location"]

    monkeypatch.setattr("builtins.input", browser)
    call_command(
        "anaf_authorize",
        "--company",
        str(company.uuid),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        REDIRECT_URI,
        stdout=out,
    )

    assert "Stored." in out.getvalue()
    assert claims(stored(company)[0])["clientappid"] == CLIENT_ID


def test_authorize_refuses_a_pasted_redirect_with_another_state(company, server, oauth_url, command_idp, monkeypatch):
    code = server.simulator.authorization_code(REDIRECT_URI)
    monkeypatch.setattr("builtins.input", lambda prompt: f"{REDIRECT_URI}?code={code}&state=not-this-runs-state")

    with pytest.raises(CommandError, match="state differs"):
        run_authorize(
            "--company",
            str(company.uuid),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            REDIRECT_URI,
        )

    credentials = AnafCredentials.objects.get(company=company)  # the client is kept for the next run
    assert credentials.access_token is None and credentials.refresh_token is None
    # The code was never sent to ANAF.
    oauth.exchange_code(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT_URI,
        base_url=oauth_url,
    )


def test_authorize_reports_a_refused_exchange_and_stores_no_tokens(company, server, command_idp):
    with pytest.raises(CommandError, match="ANAF did not exchange the code: invalid_client"):
        run_authorize(
            "--company",
            str(company.uuid),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "not-the-secret",
            "--redirect-uri",
            REDIRECT_URI,
            "--code",
            server.simulator.authorization_code(REDIRECT_URI),
        )
    assert AnafCredentials.objects.get(company=company).access_token is None


def test_authorize_asks_for_the_client_on_the_first_run(company):
    with pytest.raises(CommandError, match="First run"):
        run_authorize("--company", str(company.uuid), "--client-id", CLIENT_ID, "--code", "anything")
    assert not AnafCredentials.objects.filter(company=company).exists()
