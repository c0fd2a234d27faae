"""The admin pages people use: every registered model's list and detail page renders."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import hash_token_key
from tests import factories


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "not-a-real-password-42")


@pytest.fixture
def browser(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_every_registered_model_lists_and_shows_its_objects(browser, company):
    invoice = factories.invoice(company)
    factories.pay(invoice, "10.00")
    factories.credit(invoice, lines=None)
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert browser.get(changelist).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert browser.get(change).status_code == 200, change


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
