"""The seller (BG-4) and the buyer (BG-7) as CIUS-RO wants them: county codes, Bucharest sectors, identifiers."""

import unicodedata
from dataclasses import dataclass

import pycountry
from lxml import etree

from accounts.models import Company
from accounts.party_rules import BUCHAREST, RO_COUNTIES, normalize_county, normalize_sector
from einvoice.ubl.namespaces import aggregate, basic
from invoices.models import ClientType, Document
from invoices.services import client_snapshot

ROMANIA = "RO"
VAT_SCHEME = "VAT"
# BT-32, the seller's tax registration outside VAT: any scheme but VAT (EN16931 binds BT-31 to VAT alone).
TAX_REGISTRATION_SCHEME = "TAX"
# OUG 138/2024: a person who gives no CNP is identified by thirteen zeros, and CIUS-RO needs the buyer's
# legal or VAT identifier whenever VAT categories other than O are used (BR-RO-120).
PERSON_WITHOUT_CNP = "0000000000000"
MAX_CONTACT_LENGTH = 100  # BR-RO-L1006, BR-RO-L1011
_COUNTY_NAME_PREFIXES = ("judetul ", "jud. ", "municipiul ")


@dataclass(frozen=True)
class PartyValues:
    name: str
    vat_id: str  # BT-31 / BT-48: written under the VAT scheme
    tax_registration_id: str  # BT-32: written under another scheme
    legal_id: str  # BT-30 / BT-47
    street: str
    city: str
    county: str
    country: str
    postal_code: str
    email: str
    phone: str


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _county_by_name() -> dict[str, str]:
    return {_folded(s.name): s.code for s in pycountry.subdivisions.get(country_code=ROMANIA)}


_COUNTIES_BY_NAME = _county_by_name()


def county_code(county: str) -> str:
    """A Romanian county as its ISO 3166-2:RO code (BR-RO-110/111): `CJ`, `RO-CJ`, `Cluj`, `Județul Cluj` → `RO-CJ`.

    A value that names no county is written as given, so the validation report names it.
    """
    code = normalize_county(county)
    if code in RO_COUNTIES:
        return code
    name = _folded(county)
    for prefix in _COUNTY_NAME_PREFIXES:
        name = name.removeprefix(prefix)
    return _COUNTIES_BY_NAME.get(name, county.strip())


def city_name(city: str, county: str) -> str:
    """In Bucharest the city is the sector, coded `SECTOR1`…`SECTOR6` (BR-RO-100/101); we store `Sector 1`."""
    sector = normalize_sector(city) if county == BUCHAREST else None
    return sector.upper().replace(" ", "") if sector else city.strip()


def _vat_id(vat_code: str, country: str) -> str:
    """BR-CO-09: a VAT identifier starts with its country's ISO 3166-1 code."""
    vat_code = vat_code.replace(" ", "").upper()
    return vat_code if vat_code[:2].isalpha() else f"{country}{vat_code}"


def seller_values(company: Company, *, with_vat_ids: bool) -> PartyValues:
    """A VAT payer is identified by its RO VAT id (BT-31), anyone else by the bare CIF (BT-32).

    BT-30 carries the trade register number, as ANAF's examples do; the CIF stands in without one.
    """
    country = company.country or ROMANIA
    vat_id = _vat_id(company.vat_code or company.cif, country) if company.is_vat_payer and with_vat_ids else ""
    return PartyValues(
        name=company.name,
        vat_id=vat_id,
        tax_registration_id="" if vat_id else company.cif,
        legal_id=company.registration_number or company.cif,
        street=company.address,
        city=company.city,
        county=company.county,
        country=country,
        postal_code=company.postal_code,
        email=company.email,
        phone=company.phone,
    )


def _client_fields(document: Document) -> dict:
    """The client as the document shows it: the snapshot taken at issue, or the live client without one."""
    return document.client_snapshot or client_snapshot(document.client)


def _buyer_legal_id(client: dict) -> str:
    """BT-47: the CUI, which is how ANAF knows a Romanian company, before the trade register number."""
    if client.get("type") == ClientType.INDIVIDUAL:
        return client.get("cui") or PERSON_WITHOUT_CNP
    return client.get("cui") or client.get("registration_number") or ""


def buyer_values(document: Document, *, with_vat_ids: bool) -> PartyValues:
    client = _client_fields(document)
    country = client.get("country") or ROMANIA
    vat_code = client.get("vat_code") or ""
    return PartyValues(
        name=client["name"],
        vat_id=_vat_id(vat_code, country) if client.get("is_vat_payer") and vat_code and with_vat_ids else "",
        tax_registration_id="",
        legal_id=_buyer_legal_id(client),
        street=client.get("address") or "",
        city=client.get("city") or "",
        county=client.get("county") or "",
        country=country,
        postal_code=client.get("postal_code") or "",
        email=client.get("email") or "",
        phone=client.get("phone") or "",
    )


def address(parent: etree._Element, values: PartyValues, name: str = "PostalAddress") -> etree._Element:
    element = aggregate(parent, name)
    county = county_code(values.county) if values.country == ROMANIA else values.county.strip()
    if values.street:
        basic(element, "StreetName", values.street)
    if values.city:
        basic(element, "CityName", city_name(values.city, county))
    if values.postal_code:
        basic(element, "PostalZone", values.postal_code)
    if county:
        basic(element, "CountrySubentity", county)
    basic(aggregate(element, "Country"), "IdentificationCode", values.country)
    return element


def _tax_scheme(parent: etree._Element, company_id: str, scheme: str) -> None:
    element = aggregate(parent, "PartyTaxScheme")
    basic(element, "CompanyID", company_id)
    basic(aggregate(element, "TaxScheme"), "ID", scheme)


def _contact(parent: etree._Element, values: PartyValues) -> None:
    # An e-mail address over CIUS-RO's 100 characters would make ANAF reject the whole document, and the
    # contact is optional: it is left out instead.
    email = values.email if len(values.email) <= MAX_CONTACT_LENGTH else ""
    if not (values.phone or email):
        return
    element = aggregate(parent, "Contact")
    if values.phone:
        basic(element, "Telephone", values.phone)
    if email:
        basic(element, "ElectronicMail", email)


def party(parent: etree._Element, role: str, values: PartyValues) -> etree._Element:
    """`role` is AccountingSupplierParty or AccountingCustomerParty."""
    element = aggregate(aggregate(parent, role), "Party")
    address(element, values)
    if values.vat_id:
        _tax_scheme(element, values.vat_id, VAT_SCHEME)
    if values.tax_registration_id:
        _tax_scheme(element, values.tax_registration_id, TAX_REGISTRATION_SCHEME)
    legal_entity = aggregate(element, "PartyLegalEntity")
    basic(legal_entity, "RegistrationName", values.name)
    if values.legal_id:
        basic(legal_entity, "CompanyID", values.legal_id)
    _contact(element, values)
    return element


def delivery(root: etree._Element, buyer: PartyValues) -> None:
    """BR-IC-12: an intra-community supply names the country it goes to. We store no delivery address,
    so the goods are taken to go to the buyer's address."""
    location = aggregate(aggregate(root, "Delivery"), "DeliveryLocation")
    address(location, buyer, "Address")
