"""Random documents that our services issue, for the e-invoice corpus (tests/einvoice/test_corpus.py) and its
benchmark (bench/einvoice_corpus.py).

`scenarios()` draws plain data: a seller, a buyer, an invoice's lines and what to credit of it, and how. `issue()`
makes a scenario real through the services and returns every document it issued. A failing property prints the
scenario, which is the whole input.

What is drawn:
- parties: sellers and Romanian buyers in any of the 42 ISO 3166-2:RO counties, in Bucharest with any sector spelled
  any way the services accept; buyers also in other EU states (Greece with its EL VAT prefix) and outside the EU;
  companies and people, VAT payers or not (VAT codes spelt with or without their RO prefix, or left to the services),
  with or without trade register numbers, postal codes, e-mails (some over CIUS-RO's 100 characters) and phones;
  names, streets, cities and descriptions in any Unicode an XML document can carry, up to each column's length;
- lines: 1 to 6, quantities with up to 4 decimals, prices with 2, discounts up to the line's value, UN/ECE Rec 20
  units, and now and then a rebate line (a negative quantity);
- VAT: S at 21, 11, 19, 9 and 5 %, Z and E freely mixed; exemption reasons as a text, a VATEX code or both (and
  now and then a stray one on an S or Z line);
- currencies: RON, EUR and USD, the latter two with an exchange rate of up to 6 decimals;
- credit notes, in the company's format or either one named per note: a full credit; a partial one by lines or by
  an amount at one rate, alone or followed by the credit of what is left; a standalone note by lines or by amount.

The EN 16931 and CIUS-RO constraints respected while drawing, each one a rule the services enforce, so that every
scenario drawn is one the services issue:
- AE needs a VAT-registered buyer (BR-AE-02);
- K needs a VAT-registered buyer with a region (BR-IC-02, BR-RO-211) and a VAT-registered seller (BR-IC-02);
- G needs a VAT-registered seller (BR-G-02);
- O stands alone in its document (BR-O-11 to BR-O-14);
- exemption codes come from the VATEX list (BR-CL-22), and text has no control character XML 1.0 cannot carry;
- an invoice total is never negative, and an invoice with a rebate line is only credited in full: a partial credit
  of it may exceed what is left to credit.
Units come from UN/ECE Rec 20 and currencies from ANAF's ISO 4217 list: the services take codes outside those lists
too, and ANAF rejects them (known gaps, pinned in test_corpus.py).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from hypothesis import strategies as st

from accounts.party_rules import BUCHAREST, RO_COUNTIES, cif_is_valid
from accounts.services import company_create
from creditnotes.crediting import full_credit_items
from creditnotes.services import credit_note_create, invoice_credit, remaining_of
from invoices.calculations import CENT, ZERO, Totals, price_line, summarize
from invoices.models import Document
from invoices.services import client_create, invoice_create

QUANTUM = Decimal("0.0001")
# Today's 21 % and 11 %, and 19 %, 9 % and 5 %, which credit notes of invoices from before August 2025 keep.
STANDARD_RATES = (Decimal(21), Decimal(11), Decimal(19), Decimal(9), Decimal(5))
EXEMPT_CATEGORIES = ("E", "AE", "K", "G", "O")
# The VATEX codes (ANAF's BR-CL-22 list) each exempt category may carry.
VATEX_CODES = {
    "E": ("VATEX-EU-132", "VATEX-EU-132-1I", "VATEX-EU-143-1A", "VATEX-EU-148-A", "VATEX-EU-151-1E", "VATEX-EU-309"),
    "AE": ("VATEX-EU-AE",),
    "K": ("VATEX-EU-IC",),
    "G": ("VATEX-EU-G",),
    "O": ("VATEX-EU-O",),
}
# Common UN/ECE Rec 20 units (piece, unit, hour, day, month, kilogram, metre, litre, kWh, square metre, set, box).
UNITS = ("H87", "C62", "HUR", "DAY", "MON", "KGM", "MTR", "LTR", "KWH", "MTK", "SET", "XBX")
CURRENCIES = ("RON", "EUR", "USD")
EU_COUNTRIES = ("AT", "BE", "BG", "DE", "ES", "FR", "GR", "HU", "IT", "NL", "PL", "SE")
NON_EU_COUNTRIES = ("US", "GB", "CH", "NO", "MD", "UA", "RS", "TR", "JP")
VAT_PREFIX = {"GR": "EL"}  # BR-CO-09 lets Greece write EL
# Every spelling of a Bucharest sector the services accept (they store it as "Sector N").
SECTOR_SPELLINGS = ("Sector {}", "SECTOR{}", "sectorul {}", " Sector  {} ")
# (county, sector): Bucharest's six sectors, drawn as evenly as the other 41 counties, and first, since Hypothesis
# favours the first choice and a sector is the address rule most often broken.
LOCATIONS = (
    *((BUCHAREST, sector) for sector in range(1, 7)),
    *((county, None) for county in sorted(RO_COUNTIES - {BUCHAREST})),
)
IBANS = ("RO49AAAA1B31007593840000", "RO65BTRLRONCRT0123456789", "RO79RNCB0082004567890001")

ROMANIAN_TEXT = "ăâîșțşţĂÂÎȘȚ"  # with the cedilla forms older keyboards still type
XML_SPECIALS = "&<>\"'"
# What XML 1.0 can carry, which is what the services take: any assigned code point but the control characters other
# than tab, line feed and carriage return. Unassigned code points (U+FFFE and U+FFFF among them) are left out too.
_CHARACTERS = st.one_of(
    st.sampled_from(ROMANIAN_TEXT + XML_SPECIALS + " -.,/\t\n\r"),
    st.characters(exclude_categories=("Cc", "Cs", "Cn")),
)
_VISIBLE = st.characters(exclude_categories=("Cc", "Cs", "Cn", "Zs", "Zl", "Zp"))


@st.composite
def text(draw, max_size: int) -> str:
    """Text the services take as given: never blank, as they strip a value before refusing it as blank. Made so
    (a visible character somewhere) rather than filtered, so that no draw is thrown away."""
    rest = draw(st.text(_CHARACTERS, max_size=max_size - 1))
    at = draw(st.integers(0, len(rest)))
    return rest[:at] + draw(_VISIBLE) + rest[at:]


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


def notes(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARACTERS, max_size=max_size)


def with_check_digit(body: int) -> str:
    """A Romanian CUI: `body` and the one control digit that makes it valid."""
    return next(f"{body}{digit}" for digit in range(10) if cif_is_valid(f"{body}{digit}"))


cuis = st.integers(1, 999_999_999).map(with_check_digit)
# Up to 135 characters: the builder leaves out an address over CIUS-RO's 100 (BR-RO-L1011).
emails = optional(st.from_regex(r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}\.[a-z]{2,6}", fullmatch=True))
phones = optional(st.from_regex(r"\+?[0-9][0-9 ]{5,28}", fullmatch=True))
registration_numbers = optional(
    st.builds("J{:02d}/{}/{}".format, st.integers(1, 52), st.integers(1, 99999), st.integers(1990, 2026))
)


@st.composite
def romanian_address(draw) -> dict:
    county, sector = draw(st.sampled_from(LOCATIONS))
    return {
        "address": draw(text(150)),
        "city": draw(st.sampled_from(SECTOR_SPELLINGS)).format(sector) if sector else draw(text(50)),
        "county": county,
        "country": "RO",
        "postal_code": draw(optional(st.from_regex(r"[0-9]{6}", fullmatch=True))),
    }


def vat_code_spellings(cui: str) -> st.SearchStrategy[str]:
    """A Romanian VAT code as people type it; "" lets the services fill it in from the CUI."""
    return st.sampled_from(("", f"RO{cui}", cui, f"ro {cui}"))


@st.composite
def sellers(draw) -> dict:
    """company_create's values: a Romanian company, VAT payer or not."""
    cif, is_vat_payer = draw(cuis), draw(st.booleans())
    return {
        "name": draw(text(200)),
        "cif": cif,
        "is_vat_payer": is_vat_payer,
        "vat_code": draw(vat_code_spellings(cif)) if is_vat_payer else "",
        "registration_number": draw(registration_numbers),
        "iban": draw(optional(st.sampled_from(IBANS))),
        "email": draw(emails),
        "phone": draw(phones),
        "credit_note_format": draw(st.sampled_from(("credit_note", "storno_invoice"))),
        **draw(romanian_address()),
    }


@st.composite
def romanian_buyers(draw) -> dict:
    if draw(st.booleans()):
        identity = {"type": "individual", "cui": "", "is_vat_payer": False}
    else:
        cui, is_vat_payer = draw(cuis), draw(st.booleans())
        identity = {
            "type": "company",
            "cui": cui,
            "vat_code": draw(vat_code_spellings(cui)) if is_vat_payer else "",
            "is_vat_payer": is_vat_payer,
            "registration_number": draw(registration_numbers),
        }
    return {"name": draw(text(200)), **identity, **draw(romanian_address())}


@st.composite
def foreign_buyers(draw) -> dict:
    country = draw(st.sampled_from(EU_COUNTRIES + NON_EU_COUNTRIES))
    digits = draw(st.from_regex(r"[0-9]{8,12}", fullmatch=True))
    if country in EU_COUNTRIES and draw(st.booleans()):
        # With or without its prefix: the builder adds the country's when it is missing (BR-CO-09).
        prefix = draw(st.sampled_from(("", VAT_PREFIX.get(country, country))))
        identity = {"type": "company", "cui": "", "vat_code": f"{prefix}{digits}", "is_vat_payer": True}
    elif draw(st.booleans()):
        identity = {"type": "company", "cui": draw(text(30)), "is_vat_payer": False}
    else:
        identity = {"type": "individual", "cui": "", "is_vat_payer": False}
    return {
        "name": draw(text(200)),
        **identity,
        "address": draw(text(150)),
        "city": draw(text(50)),
        "county": draw(optional(text(50))),
        "country": country,
        "postal_code": draw(optional(text(20))),
    }


@st.composite
def buyers(draw) -> dict:
    """client_create's values."""
    buyer = draw(st.one_of(romanian_buyers(), foreign_buyers()))
    return {**buyer, "email": draw(emails), "phone": draw(phones)}


def is_vat_registered(buyer: dict) -> bool:
    # The services fill a Romanian VAT payer's VAT code in from its CUI.
    return buyer["is_vat_payer"] and bool(buyer.get("vat_code") or buyer["cui"])


def categories_for(seller: dict, buyer: dict) -> tuple[str, ...]:
    """The categories one document from `seller` to `buyer` may mix (O stands alone: see `invoice_lines`)."""
    categories = ["S", "Z", "E"]
    if is_vat_registered(buyer):
        categories.append("AE")
    if is_vat_registered(buyer) and buyer["county"].strip() and seller["is_vat_payer"]:
        categories.append("K")
    if seller["is_vat_payer"]:
        categories.append("G")
    return tuple(categories)


@st.composite
def exemptions(draw, category: str) -> dict:
    """What an exempt category states (BR-E-10 and its siblings): a text, a VATEX code or both. S and Z state none
    (BR-S-10, BR-Z-10), but the services store one given: now and then a line has one the builder must leave out."""
    if category not in EXEMPT_CATEGORIES:
        return {"vat_exemption_reason": draw(text(300))} if draw(st.integers(0, 7)) == 7 else {}
    stated = draw(st.sampled_from(("reason", "code", "both")))
    values = {}
    if stated != "code":
        values["vat_exemption_reason"] = draw(text(300))
    if stated != "reason":
        values["vat_exemption_code"] = draw(st.sampled_from(VATEX_CODES[category]))
    return values


@st.composite
def line(draw, category: str, *, rebate: bool = False) -> dict:
    """A line as invoice_create takes it."""
    quantity = draw(st.decimals(QUANTUM, Decimal(10000), places=4))
    unit_price = draw(st.decimals(ZERO, Decimal(100000), places=2))
    value = (quantity * unit_price).quantize(CENT, rounding=ROUND_DOWN)
    discount = draw(st.decimals(CENT, value, places=2)) if value >= CENT and draw(st.booleans()) else ZERO
    return {
        "description": draw(text(200)),
        "quantity": -quantity if rebate else quantity,
        "unit_of_measure": draw(st.sampled_from(UNITS)),
        "unit_price": unit_price,
        "discount": discount,
        "vat_rate": draw(st.sampled_from(STANDARD_RATES)) if category == "S" else ZERO,
        "vat_category": category,
        **draw(exemptions(category)),
    }


@st.composite
def invoice_lines(draw, categories: tuple[str, ...]) -> tuple[dict, ...]:
    """1 to 6 lines mixing `categories`, or (one draw in eight) lines outside the scope of VAT only."""
    count = draw(st.integers(1, 6))
    if draw(st.integers(0, 7)) == 7:
        chosen = ["O"] * count
    else:
        chosen = [draw(st.sampled_from(categories)) for _ in range(count)]
    # With several lines, one draw in four makes one of them a rebate (a negative line).
    rebate_at = draw(st.integers(0, count - 1)) if count > 1 and draw(st.integers(0, 3)) == 0 else None
    lines = tuple(draw(line(category, rebate=index == rebate_at)) for index, category in enumerate(chosen))
    if totals_of(lines).total < 0:
        # An invoice's total is never negative (the services refuse it): the rebate was too big to be one.
        lines = tuple({**drawn, "quantity": abs(drawn["quantity"])} for drawn in lines)
    return lines


def totals_of(lines: tuple[dict, ...]) -> Totals:
    return summarize(
        [
            price_line(
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line["discount"],
                vat_rate=line["vat_rate"],
                vat_category=line["vat_category"],
            )
            for line in lines
        ]
    )


# --- credit notes -----------------------------------------------------------------------------------------------

TYPE_CODES = (None, "381", "380")  # None: the company's format


@dataclass(frozen=True)
class Credit:
    """A credit note against the scenario's invoice: by lines, by an amount at one rate, or (neither) all that is
    left."""

    type_code: str | None
    reason: str
    lines: tuple[tuple[int, Decimal], ...] = ()  # (the invoice line's position, the quantity to credit)
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    vat_category: str | None = None


@dataclass(frozen=True)
class Standalone:
    """A credit note with no invoice: lines (the scenario's invoice lines, credited as its own), or an amount at one
    rate."""

    type_code: str | None
    reason: str
    lines: tuple[dict, ...] = ()
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    vat_category: str | None = None
    vat_exemption_reason: str = ""


@st.composite
def partial_credit(draw, lines: tuple[dict, ...]) -> Credit:
    type_code, reason = draw(st.sampled_from(TYPE_CODES)), draw(text(300))
    groups = [group for group in totals_of(lines).breakdown if group.gross >= CENT]
    if groups and draw(st.booleans()):
        group = draw(st.sampled_from(groups))
        amount = draw(st.decimals(CENT, group.gross, places=2))
        return Credit(type_code, reason, amount=amount, vat_rate=group.vat_rate, vat_category=group.vat_category)
    positions = [position for position in range(1, len(lines) + 1) if draw(st.booleans())]
    positions = positions or [draw(st.integers(1, len(lines)))]
    quantities = tuple(
        (position, draw(st.decimals(QUANTUM, lines[position - 1]["quantity"], places=4))) for position in positions
    )
    return Credit(type_code, reason, lines=quantities)


@st.composite
def credits(draw, lines: tuple[dict, ...]) -> tuple[Credit, ...]:
    def everything_left() -> Credit:
        return Credit(draw(st.sampled_from(TYPE_CODES)), draw(text(300)))

    has_rebate = any(line["quantity"] < 0 for line in lines)
    kinds = ("full", "none") if has_rebate else ("partial", "partial, then the rest", "full", "none")
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return ()
    if kind == "full":
        return (everything_left(),)
    first = draw(partial_credit(lines))
    return (first, everything_left()) if kind == "partial, then the rest" else (first,)


@st.composite
def standalone(draw, lines: tuple[dict, ...]) -> Standalone | None:
    type_code, reason = draw(st.sampled_from(TYPE_CODES)), draw(text(300))
    kind = draw(st.sampled_from(("none", "lines", "amount")))
    if kind == "none":
        return None
    if kind == "lines":
        return Standalone(type_code, reason, lines=lines)
    model = draw(st.sampled_from(lines))
    exemption = draw(text(300)) if model["vat_category"] in EXEMPT_CATEGORIES else ""
    return Standalone(
        type_code,
        reason,
        amount=draw(st.decimals(CENT, Decimal(100000), places=2)),
        vat_rate=model["vat_rate"],
        vat_category=model["vat_category"],
        vat_exemption_reason=exemption,
    )


# --- scenarios ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    seller: dict
    buyer: dict
    currency: str
    exchange_rate: Decimal | None
    notes: str
    lines: tuple[dict, ...]
    credits: tuple[Credit, ...]
    standalone: Standalone | None


@st.composite
def scenarios(draw) -> Scenario:
    seller, buyer = draw(sellers()), draw(buyers())
    currency = draw(st.sampled_from(CURRENCIES))
    rate = None if currency == "RON" else draw(st.decimals(Decimal("0.0001"), Decimal(100), places=6))
    lines = draw(invoice_lines(categories_for(seller, buyer)))
    return Scenario(
        seller=seller,
        buyer=buyer,
        currency=currency,
        exchange_rate=rate,
        notes=draw(notes(2000)),
        lines=lines,
        credits=draw(credits(lines)),
        standalone=draw(standalone(lines)),
    )


def _note_values(note: Credit | Standalone) -> dict:
    values = {"reason": note.reason, "invoice_type_code": note.type_code}
    if note.amount is not None:
        values.update(amount=note.amount, vat_rate=note.vat_rate, vat_category=note.vat_category)
    return values


def _nothing_left(invoice: Document) -> bool:
    parent_lines, remaining = remaining_of(invoice)
    return not full_credit_items(parent_lines=parent_lines, remaining=remaining)


def issue(scenario: Scenario) -> list[Document]:
    """Every document of `scenario`, made and issued through the services, in the order issued."""
    company = company_create(**scenario.seller)
    client = client_create(company=company, **scenario.buyer)
    money = {"currency": scenario.currency, "exchange_rate": scenario.exchange_rate}
    invoice = invoice_create(
        company=company, client_id=client.uuid, issue=True, notes=scenario.notes, lines=list(scenario.lines), **money
    )
    documents = [invoice]
    for credit in scenario.credits:
        values = _note_values(credit)
        if credit.lines:
            uuids = {line.position: line.uuid for line in invoice.lines.all()}
            values["lines"] = [{"parent_line_id": uuids[position], "quantity": q} for position, q in credit.lines]
        elif credit.amount is None and _nothing_left(invoice):
            continue  # the partial credit before took everything
        documents.append(invoice_credit(invoice=invoice, issue=True, **values))
    if note := scenario.standalone:
        values = _note_values(note)
        if note.lines:
            values["lines"] = list(note.lines)
        elif note.vat_exemption_reason:
            values["vat_exemption_reason"] = note.vat_exemption_reason
        documents.append(credit_note_create(company=company, client_id=client.uuid, issue=True, **money, **values))
    return documents


class _RolledBack(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone at the end of the block: each scenario issues into an empty database."""
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass
