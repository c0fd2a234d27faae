"""The data rules a Romanian party (our company or a client) must satisfy: CUI check digit,
ISO 3166-2:RO counties, Bucharest sectors, ISO 3166-1 countries and ISO 4217 currencies."""

import re

import pycountry

from config.errors import Violations
from config.fields import xml_safe

RO_COUNTIES = frozenset(s.code for s in pycountry.subdivisions.get(country_code="RO"))
BUCHAREST = "RO-B"
BUCHAREST_SECTORS = tuple(f"Sector {n}" for n in range(1, 7))
# ISO 4217 lists test and precious-metal codes that no invoice is issued in; and ANAF's copy of the list (BR-CL-04)
# predates the newest codes, so a document in one of them could not be sent.
NEWER_THAN_ANAFS_LIST = {"MRU", "SLE", "STN", "UYW", "VED", "VES", "XAD", "XCG", "ZWG"}
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies) - {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT"}
CURRENCIES = CURRENCIES - NEWER_THAN_ANAFS_LIST
COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)

_CIF_WEIGHTS = (7, 5, 3, 2, 1, 7, 5, 3, 2)

_SECTOR = re.compile(r"^\s*sector(?:ul)?\s*([1-6])\s*$", re.IGNORECASE)


def normalize_cif(value: str) -> str:
    """`RO 123 456 78` → `12345678`: an optional RO prefix and blanks are dropped."""
    cleaned = re.sub(r"\s+", "", value or "").upper()
    return cleaned[2:] if cleaned.startswith("RO") else cleaned


def cif_is_valid(digits: str) -> bool:
    """The Romanian CUI/CIF control digit (weights 753217532, ×10 mod 11, 10 → 0)."""
    if not digits.isdigit() or not 2 <= len(digits) <= 10:
        return False
    body = digits[:-1].rjust(9, "0")
    control = sum(int(d) * w for d, w in zip(body, _CIF_WEIGHTS, strict=True)) * 10 % 11
    return (0 if control == 10 else control) == int(digits[-1])


def normalize_county(value: str) -> str:
    code = (value or "").strip().upper()
    if code and not code.startswith("RO-"):
        code = f"RO-{code}"
    return code


def normalize_sector(city: str) -> str | None:
    """`SECTOR1`, `sectorul 1`, `Sector 1` → `Sector 1`; None when it is no sector."""
    match = _SECTOR.match(city or "")
    return f"Sector {match.group(1)}" if match else None


def clean_party(data: dict, violations: Violations, *, prefix: str = "") -> dict:
    """Validates and normalizes the identity and address fields present in `data` (snake_case keys).

    Returns the normalized values; problems are added to `violations` under camelCase API names.
    """
    cleaned = dict(data)
    for key, value in data.items():
        if isinstance(value, str) and not xml_safe(value):
            violations.add(f"{prefix}{key}", "Control characters cannot be written in an e-invoice.")
    country = (data.get("country") or "RO").strip().upper()
    if "country" in data:
        if country not in COUNTRIES:
            violations.add(f"{prefix}country", "Not an ISO 3166-1 alpha-2 country code.")
        cleaned["country"] = country
    for key, api_name in (("cif", "cif"), ("cui", "cui")):
        if data.get(key):
            digits = normalize_cif(data[key])
            # Only Romanian identifiers carry the RO check digit; a foreign client's tax id is free text.
            if country == "RO" and not cif_is_valid(digits):
                violations.add(f"{prefix}{api_name}", "Not a valid Romanian CUI/CIF (check digit mismatch).")
            cleaned[key] = digits if country == "RO" else data[key].strip()
    if "county" in data or "city" in data:
        county = data.get("county") or ""
        if country == "RO":
            county = normalize_county(county)
            if county and county not in RO_COUNTIES:
                violations.add(f"{prefix}county", "Not an ISO 3166-2:RO county code (e.g. RO-CJ, RO-B).")
            elif not county and (data.get("city") or data.get("address")):
                # BR-RO-110/111: an e-invoice names the county of every Romanian address.
                violations.add(f"{prefix}county", "A Romanian address needs its county (ISO 3166-2:RO, e.g. RO-CJ).")
            if county == BUCHAREST and "city" in data:
                sector = normalize_sector(data.get("city") or "")
                if sector is None:
                    violations.add(f"{prefix}city", "In Bucharest (RO-B) the city is a sector: Sector 1 … Sector 6.")
                else:
                    cleaned["city"] = sector
        if "county" in data:
            cleaned["county"] = county
    if "currency" in data:
        currency = (data.get("currency") or "").strip().upper()
        if currency not in CURRENCIES:
            violations.add(f"{prefix}currency", "Not an ISO 4217 currency code.")
        cleaned["currency"] = currency
    return cleaned
