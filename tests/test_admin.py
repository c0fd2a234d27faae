"""The admin pages people use: every registered model's list and detail page renders."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import hash_token_key
from einvoice import tokens
from einvoice.anaf import oauth
from einvoice.models import AnafCredentials
from einvoice.services import submission_queue
from tests import factories

CLIENT_SECRET = "client-secret-never-shown"
ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.access-token-never-shown.c2ln"
REFRESH_TOKEN = "eyJhbGciOiJIUzI1NiJ9.refresh-token-never-shown.c2ln"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "not-a-real-password-42")


@pytest.fixture
def browser(staff):
    client = Client()
    client.force_login(staff)
    return client


def walk_every_admin_page(browser) -> dict[str, str]:
    """Every registered model's list page, and the detail page of its first object: address → rendered HTML."""
    pages = {}
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        addresses = [changelist]
        first = model._default_manager.first()
        if first is not None:
            addresses.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        for address in addresses:
            response = browser.get(address)
            assert response.status_code == 200, address
            pages[address] = response.content.decode()
    return pages


def test_every_registered_model_lists_and_shows_its_objects(browser, company):
    invoice = factories.invoice(company)
    factories.pay(invoice, "10.00")
    factories.credit(invoice, lines=None)
    walk_every_admin_page(browser)


def test_the_einvoice_pages_render_and_never_show_a_token(browser, company):
    invoice = factories.invoice(company)
    submission, _ = submission_queue(document=invoice)  # its worker is dispatched on commit, which never comes
    credentials = AnafCredentials.objects.create(
        company=company,
        client_id="stornare-client",
        client_secret=tokens.seal(CLIENT_SECRET),
        redirect_uri="https://stornare.example/anaf/callback",
    )
    expires_at = timezone.now() + datetime.timedelta(days=90)
    tokens.store(credentials, oauth.Tokens(ACCESS_TOKEN, REFRESH_TOKEN, expires_at))
    credentials.refresh_from_db()

    pages = walk_every_admin_page(browser)

    submission_page = reverse("admin:einvoice_einvoicesubmission_change", args=[submission.pk])
    assert "queued" in pages[submission_page]  # the event, inline
    assert "Invoice" in pages[submission_page] and "&lt;Invoice" in pages[submission_page]  # the XML, as text
    credentials_pages = [
        reverse("admin:einvoice_anafcredentials_changelist"),
        reverse("admin:einvoice_anafcredentials_change", args=[credentials.pk]),
    ]
    stored = [bytes(credentials.client_secret), bytes(credentials.access_token), bytes(credentials.refresh_token)]
    for address in credentials_pages:
        html = pages[address]
        assert "stornare-client" in html, address
        for secret in (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, *(sealed.decode() for sealed in stored)):
            assert secret not in html, address
    assert "Access token stored" in pages[credentials_pages[1]]


def test_submissions_cannot_be_edited_in_the_admin(browser, company):
    submission, _ = submission_queue(document=factories.invoice(company))
    change = reverse("admin:einvoice_einvoicesubmission_change", args=[submission.pk])
    response = browser.post(change, {"state": "validated"})
    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.state == "queued"


def test_documents_are_read_only_in_the_admin(browser, company):
    invoice = factories.invoice(company)
    change = reverse("admin:invoices_document_change", args=[invoice.pk])
    response = browser.post(change, {"status": "draft"})
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "issued"


def test_a_token_made_in_the_admin_is_shown_once_and_stored_hashed(browser, staff):
    response = browser.post(
        reverse("admin:accounts_apitoken_add"), {"user": staff.pk, "name": "from admin"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="from admin")
    shown = [str(message) for message in response.context["messages"]]
    key = next(word for message in shown for word in message.split() if word.startswith("stn_"))
    assert token.key_hash == hash_token_key(key)
    assert key not in token.prefix or len(token.prefix) < len(key)
