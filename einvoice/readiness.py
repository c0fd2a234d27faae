"""The data a document must carry before it is issued, because its e-invoice (UBL CIUS-RO) cannot do without it.

Issuing checks these before a number is allocated: a numbered document that ANAF must reject for its data would
need a credit note to undo. They are the rules our data decides; the XML's own rules run in einvoice.validation,
which needs the official artifacts and is never a condition of issuing.
"""

from collections.abc import Mapping

from accounts.party_rules import BUCHAREST, RO_COUNTIES, normalize_sector
from config.errors import Violations

# EN 16931: reverse charge (AE) and intra-community supply (K) name the buyer's VAT id (BR-AE-02, BR-IC-02).
INTRA_COMMUNITY = "K"
OUTSIDE_SCOPE = "O"
CATEGORIES_NEEDING_BUYER_VAT_ID = {"AE", INTRA_COMMUNITY}
CATEGORIES_NEEDING_SELLER_VAT_ID = {INTRA_COMMUNITY, "G"}


def check_address(party: Mapping, violations: Violations, *, prefix: str) -> None:
    """BR-RO-081/082 (street), 091/092 (city), 110/111 (county, ISO 3166-2:RO), 100/101 (Bucharest sector)."""
    if not (party.get("address") or "").strip():
        violations.add(f"{prefix}address", "The e-invoice needs a street address.")
    if not (party.get("city") or "").strip():
        violations.add(f"{prefix}city", "The e-invoice needs a city.")
    if (party.get("country") or "RO") != "RO":
        return
    county = party.get("county") or ""
    if county not in RO_COUNTIES:
        violations.add(f"{prefix}county", "A Romanian address needs its ISO 3166-2:RO county code (e.g. RO-CJ, RO-B).")
    elif county == BUCHAREST and normalize_sector(party.get("city") or "") is None:
        violations.add(f"{prefix}city", "In Bucharest (RO-B) the city is a sector: Sector 1 … Sector 6.")


def check_seller(company, categories: set[str], violations: Violations) -> None:
    values = {field: getattr(company, field) for field in ("address", "city", "county", "country")}
    check_address(values, violations, prefix="company.")
    if company.is_vat_payer and not company.vat_code:
        violations.add("company.vatCode", "A VAT payer's e-invoice carries its VAT id (BR-CO-09).")
    if categories & CATEGORIES_NEEDING_SELLER_VAT_ID and not (company.is_vat_payer and company.vat_code):
        violations.add(
            "company.isVatPayer",
            "Intra-community supplies and exports are invoiced by a VAT payer (BR-IC-02, BR-G-02).",
        )


def check_categories(categories: set[str], violations: Violations) -> None:
    # BR-O-11…14: a document outside the scope of VAT has no line in any other category.
    if OUTSIDE_SCOPE in categories and len(categories) > 1:
        violations.add("lines", "Lines outside the scope of VAT (O) cannot share a document with other categories.")


def check_buyer(client: Mapping, categories: set[str], violations: Violations) -> None:
    check_address(client, violations, prefix="client.")
    if client.get("type") == "company" and not (client.get("cui") or client.get("vat_code")):
        violations.add("client.cui", "The e-invoice names a company buyer by its CUI or VAT id (BR-RO-120).")
    if categories & CATEGORIES_NEEDING_BUYER_VAT_ID and not (client.get("is_vat_payer") and client.get("vat_code")):
        violations.add(
            "client.vatCode", "Reverse charge and intra-community lines need a VAT-registered buyer and its VAT id."
        )
    if INTRA_COMMUNITY in categories and not client.get("county"):
        # The delivery address an intra-community supply carries (BR-IC-12) names its region (BR-RO-211).
        violations.add("client.county", "An intra-community supply needs the buyer's region (e.g. Bayern).")


def check_ready_to_issue(document, client: Mapping) -> None:
    """Raises RuleViolation (422) naming every field that keeps `document` from a valid e-invoice.

    `client` is the buyer as the document will carry it (the snapshot taken at issue).
    """
    violations = Violations()
    categories = {line.vat_category for line in document.lines.all()}
    check_categories(categories, violations)
    check_seller(document.company, categories, violations)
    check_buyer(client, categories, violations)
    if document.currency != "RON" and not document.exchange_rate:
        violations.add("exchangeRate", "A document in another currency needs its exchange rate to RON (BR-RO-030).")
    violations.raise_if_any("This document cannot be issued as a valid e-invoice.")
