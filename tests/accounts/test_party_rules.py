"""The data rules of a Romanian party (company or client), and the company services built on them."""

import pytest

from accounts.models import Company, Membership
from accounts.party_rules import (
    CURRENCIES,
    cif_is_valid,
    clean_party,
    normalize_cif,
    normalize_county,
    normalize_sector,
)
from accounts.services import company_create, company_update, user_get_or_create
from config.errors import RuleViolation, Violations
from invoices.services import client_create, client_update
from numbering.models import Series, SeriesKind
from tests import factories

VALID_IBAN = "RO49AAAA1B31007593840000"


def make_company(**overrides):
    values = {"name": "Test SRL", "cif": "18547290", "county": "RO-CJ", "city": "Cluj-Napoca"}
    values.update(overrides)
    return company_create(**values)


# --- CUI / CIF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digits, valid",
    [
        ("18547290", True),
        ("14399840", True),
        ("18547291", False),  # check digit off by one
        ("14399849", False),
        ("18547280", False),  # body changed, check digit kept
        ("1", False),  # too short
        ("12345678901", False),  # too long
        ("1854729A", False),
        ("", False),
    ],
)
def test_cif_check_digit(digits, valid):
    assert cif_is_valid(digits) is valid


@pytest.mark.parametrize(
    "raw, digits",
    [
        ("18547290", "18547290"),
        ("RO18547290", "18547290"),
        ("ro18547290", "18547290"),
        ("RO 185 472 90", "18547290"),
        ("  14399840 ", "14399840"),
    ],
)
def test_cif_accepts_ro_prefix_and_spaces(raw, digits):
    assert normalize_cif(raw) == digits


@pytest.mark.parametrize("cif", ["18547290", "RO18547290", "RO 1854 7290", "ro 18547290"])
def test_company_cif_is_stored_as_digits(db, cif):
    company = make_company(cif=cif)
    assert company.cif == "18547290"
    assert company.vat_code == "RO18547290"


@pytest.mark.parametrize("cif", ["18547291", "RO14399841", "RO", "ABC"])
def test_company_with_invalid_cif_is_refused(db, cif):
    with pytest.raises(RuleViolation) as e:
        make_company(cif=cif)
    assert set(e.value.details) == {"cif"}
    assert Company.objects.count() == 0


def test_company_needs_a_cif_and_a_name(db):
    with pytest.raises(RuleViolation) as e:
        make_company(cif="", name="   ")
    assert set(e.value.details) == {"cif", "name"}


def test_client_cui_is_stored_as_digits_with_check_digit(company):
    client = client_create(company=company, name="Acme SRL", cui="RO 14399840", is_vat_payer=True)
    assert client.cui == "14399840"
    assert client.vat_code == "RO14399840"


def test_client_with_invalid_cui_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        client_create(company=company, name="Acme SRL", cui="14399841")
    assert set(e.value.details) == {"cui"}


def test_client_not_vat_payer_has_no_vat_code(company):
    client = client_create(company=company, name="Ion Popescu PFA", cui="14399840", is_vat_payer=False)
    assert client.vat_code == ""


def test_clients_are_not_unique_by_cui(company):
    first = client_create(company=company, name="Acme SRL", cui="14399840")
    second = client_create(company=company, name="Acme SRL (punct de lucru)", cui="RO14399840")
    assert first.pk != second.pk
    assert first.cui == second.cui == "14399840"


# --- counties and Bucharest sectors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, code", [("RO-CJ", "RO-CJ"), ("cj", "RO-CJ"), (" Cj ", "RO-CJ"), ("ro-cj", "RO-CJ"), ("", "")]
)
def test_normalize_county(raw, code):
    assert normalize_county(raw) == code


@pytest.mark.parametrize("county", ["RO-CJ", "cj", "CJ", "ro-cj"])
def test_company_county_is_normalized_to_iso_3166_2(db, county):
    assert make_company(county=county).county == "RO-CJ"


@pytest.mark.parametrize("county", ["RO-XX", "Cluj", "XX"])
def test_unknown_county_is_refused(db, county):
    with pytest.raises(RuleViolation) as e:
        make_company(county=county)
    assert set(e.value.details) == {"county"}


def test_client_unknown_county_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        client_create(company=company, name="Acme SRL", county="RO-XX", city="Oriunde")
    assert set(e.value.details) == {"county"}


@pytest.mark.parametrize(
    "city, sector",
    [
        ("sector 3", "Sector 3"),
        ("SECTOR3", "Sector 3"),
        ("Sectorul 3", "Sector 3"),
        ("sectorul3", "Sector 3"),
        ("  Sector  6 ", "Sector 6"),
        ("Sector 1", "Sector 1"),
    ],
)
def test_bucharest_city_is_normalized_to_a_sector(company, city, sector):
    assert normalize_sector(city) == sector
    client = client_create(company=company, name="Acme SRL", county="RO-B", city=city)
    assert (client.county, client.city) == ("RO-B", sector)


@pytest.mark.parametrize("city", ["Bucuresti", "București", "Sector 7", "Sector 0", ""])
def test_bucharest_city_that_is_no_sector_is_refused(company, city):
    assert normalize_sector(city) is None
    with pytest.raises(RuleViolation) as e:
        client_create(company=company, name="Acme SRL", county="RO-B", city=city)
    assert set(e.value.details) == {"city"}


def test_short_bucharest_county_is_normalized_too(db):
    company = make_company(county="b", city="SECTOR1")
    assert (company.county, company.city) == ("RO-B", "Sector 1")


def test_city_outside_bucharest_is_kept(company):
    client = client_create(company=company, name="Acme SRL", county="RO-CJ", city="Cluj-Napoca")
    assert (client.county, client.city) == ("RO-CJ", "Cluj-Napoca")


def test_clean_party_reports_under_prefix():
    violations = Violations()
    clean_party({"county": "RO-XX", "city": "X"}, violations, prefix="client.")
    assert set(violations.details) == {"client.county"}


# --- currencies and countries ----------------------------------------------------------------------


def test_currency_list_is_iso_4217_without_test_and_metal_codes():
    assert {"RON", "EUR", "USD", "GBP", "HUF", "MDL"} <= CURRENCIES
    assert not {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT"} & CURRENCIES


@pytest.mark.parametrize("currency, stored", [("RON", "RON"), ("EUR", "EUR"), ("eur", "EUR"), (" usd ", "USD")])
def test_company_currency_is_an_iso_4217_code(db, currency, stored):
    assert make_company(currency=currency).currency == stored


@pytest.mark.parametrize("currency", ["XXX", "XAU", "ABC", "LEI", ""])
def test_company_currency_outside_iso_4217_is_refused(db, currency):
    with pytest.raises(RuleViolation) as e:
        make_company(currency=currency)
    assert set(e.value.details) == {"currency"}


def test_company_defaults_to_ron(db):
    assert make_company().currency == "RON"


# --- foreign clients -------------------------------------------------------------------------------


def test_foreign_client_has_a_free_tax_id_and_no_county_rule(company):
    client = client_create(
        company=company,
        name="Muster GmbH",
        country="de",
        cui=" DE123456789 ",
        county="Bayern",
        city="München",
        is_vat_payer=True,
    )
    assert client.country == "DE"
    assert client.cui == "DE123456789"  # not a Romanian CUI: no check digit, not stripped to digits
    assert client.vat_code == "DE123456789"
    assert (client.county, client.city) == ("Bayern", "München")


def test_foreign_client_in_a_city_named_like_bucharest_is_not_checked(company):
    client = client_create(company=company, name="Foo Ltd", country="GB", county="RO-B", city="London")
    assert client.city == "London"


def test_unknown_country_is_refused(company):
    with pytest.raises(RuleViolation) as e:
        client_create(company=company, name="Nowhere Ltd", country="XX", cui="123")
    assert "country" in e.value.details


def test_client_needs_a_name(company):
    with pytest.raises(RuleViolation) as e:
        client_create(company=company, name="  ")
    assert set(e.value.details) == {"name"}


def test_client_update_runs_the_same_rules(company):
    client = factories.client(company)
    with pytest.raises(RuleViolation) as e:
        client_update(client=client, city="Bucuresti")  # still RO-B
    assert set(e.value.details) == {"city"}
    updated = client_update(client=client, county="cj", city="Dej")
    assert (updated.county, updated.city) == ("RO-CJ", "Dej")


# --- company_create / company_update ----------------------------------------------------------------


def test_company_create_makes_default_series(db):
    company = make_company()
    series = {s.kind: s for s in Series.objects.filter(company=company)}
    assert set(series) == {SeriesKind.INVOICE, SeriesKind.CREDIT_NOTE}
    invoice_series, note_series = series[SeriesKind.INVOICE], series[SeriesKind.CREDIT_NOTE]
    assert (invoice_series.name, invoice_series.prefix) == ("FAC", "FAC-")
    assert (note_series.name, note_series.prefix) == ("CN", "CN-")
    for s in (invoice_series, note_series):
        assert s.yearly is True
        assert s.padding == 4
        assert s.next_number == 1
        assert s.year is None
        assert s.is_default is True


def test_company_create_defaults(db):
    company = make_company()
    assert company.is_vat_payer is True
    assert company.vat_code == "RO18547290"
    assert company.country == "RO"
    assert company.currency == "RON"
    assert company.credit_note_format == "credit_note"


def test_company_not_vat_payer_has_no_vat_code(db):
    company = make_company(is_vat_payer=False)
    assert company.vat_code == ""


def test_company_keeps_an_explicit_vat_code(db):
    company = make_company(vat_code="RO99999999")
    assert company.vat_code == "RO99999999"


def test_company_create_with_owner_makes_membership(db):
    owner = user_get_or_create(username="maria")
    company = make_company(owner=owner)
    membership = Membership.objects.get(company=company)
    assert (membership.user, membership.role) == (owner, Membership.Role.OWNER)


def test_company_create_refuses_unknown_credit_note_format(db):
    with pytest.raises(RuleViolation) as e:
        make_company(credit_note_format="storno")
    assert set(e.value.details) == {"creditNoteFormat"}


def test_company_create_collects_every_violation(db):
    with pytest.raises(RuleViolation) as e:
        make_company(cif="18547291", county="RO-XX", currency="XXX", iban="RO00XXXX", country="RO")
    assert set(e.value.details) == {"cif", "county", "currency", "iban"}
    assert e.value.message == "The request is not valid."


def test_company_update_changes_profile(company):
    updated = company_update(company=company, name="Nou SRL", county="bv", city="Brașov", currency="eur")
    updated.refresh_from_db()
    assert (updated.name, updated.county, updated.city, updated.currency) == ("Nou SRL", "RO-BV", "Brașov", "EUR")


def test_company_update_vat_code_follows_a_new_cif(company):
    assert company.vat_code == "RO18547290"
    updated = company_update(company=company, cif="RO14399840")
    assert (updated.cif, updated.vat_code) == ("14399840", "RO14399840")


def test_company_update_keeps_a_custom_vat_code_on_cif_change(db):
    company = make_company(vat_code="RO55555555")
    updated = company_update(company=company, cif="14399840")
    assert (updated.cif, updated.vat_code) == ("14399840", "RO55555555")


def test_company_update_becoming_vat_payer_sets_vat_code(db):
    company = make_company(is_vat_payer=False)
    updated = company_update(company=company, is_vat_payer=True)
    assert updated.vat_code == "RO18547290"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"county": "RO-XX"}, "county"),
        ({"cif": "18547291"}, "cif"),
        ({"currency": "XXX"}, "currency"),
        ({"iban": "RO48AAAA1B31007593840000"}, "iban"),
        ({"county": "RO-B", "city": "Bucuresti"}, "city"),
        ({"name": ""}, "name"),
        ({"credit_note_format": "nope"}, "creditNoteFormat"),
    ],
)
def test_company_update_refuses_invalid_changes_and_keeps_the_row(company, changes, field):
    with pytest.raises(RuleViolation) as e:
        company_update(company=company, **changes)
    assert set(e.value.details) == {field}
    company.refresh_from_db()
    assert (company.cif, company.county, company.city, company.currency) == ("18547290", "RO-CJ", "Cluj-Napoca", "RON")


# --- IBAN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [VALID_IBAN, "ro49 aaaa 1b31 0075 9384 0000", "RO49 AAAA 1B31 0075 9384 0000"])
def test_iban_is_validated_and_normalized(db, raw):
    assert make_company(iban=raw).iban == VALID_IBAN


def test_iban_may_be_blank(db):
    assert make_company(iban="").iban == ""


@pytest.mark.parametrize(
    "iban",
    [
        "RO48AAAA1B31007593840000",  # check digits wrong
        "RO49AAAA1B31007593840001",  # account changed
        "RO49AAAA",  # too short
        "RO49AAAA1B31-07593840000",  # not alphanumeric
    ],
)
def test_invalid_iban_is_refused(db, iban):
    with pytest.raises(RuleViolation) as e:
        make_company(iban=iban)
    assert set(e.value.details) == {"iban"}


def test_factory_company_is_valid(company):
    assert (company.cif, company.iban, company.county) == ("18547290", VALID_IBAN, "RO-CJ")
