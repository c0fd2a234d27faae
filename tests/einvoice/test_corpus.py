"""A generated corpus: whatever our services issue passes the UBL 2.1 XSD and ANAF's CIUS-RO schematron.

Hypothesis draws scenarios (tests/einvoice/strategies.py: parties in every county, every VAT category, quantities,
prices, discounts, currencies, partial and full credits in both forms, standalone notes); the services issue them,
and every document is built and validated with no fatal finding allowed. Each example runs in a savepoint rolled
back at its end, so examples never meet. bench/einvoice_corpus.py runs the same generator over 1,000+ documents.

The property behind it: for any input, the services either refuse it or issue a document ANAF accepts, since a
numbered document that ANAF rejects can only be undone by a credit note. The generator draws only what the services
issue (see its docstring); below, the inputs it leaves out are pinned: those the services refuse, and the known gaps,
inputs the services still issue and ANAF rejects, each a strict expected failure, so that the fix shows as an
unexpected pass and the generator can then take them in.
"""

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, event, given, settings

from config.errors import RuleViolation
from einvoice.ubl.builder import build
from einvoice.ubl.forms import form_of
from einvoice.validation import validate
from invoices.models import Document
from tests import factories
from tests.einvoice.strategies import Scenario, issue, rolled_back, scenarios


def fatal_findings(document: Document) -> str:
    """What ANAF's rules (and our own checks) find fatal in the document's XML; empty when they accept it."""
    report = validate(build(document))
    if report.valid:
        return ""
    form = form_of(document)
    found = "\n".join(f"  {f.rule_id} ({f.source}) at {f.location}: {f.message}" for f in report.fatal)
    return f"{document.number} ({form.root} {form.type_code}, {document.currency}), stages run {report.ran}:\n{found}"


def record_coverage(scenario: Scenario, documents: list[Document]) -> None:
    """What the example covered, for --hypothesis-show-statistics."""
    event("buyer's country", scenario.buyer["country"])
    event("currency", scenario.currency)
    event("categories", "+".join(sorted({line["vat_category"] for line in scenario.lines})))
    for document in documents:
        form = form_of(document)  # one event each: an event's value is counted once per example
        event(f"{'credit note' if document.is_credit_note else 'invoice'} as {form.root} {form.type_code}")


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_every_generated_document_passes_anafs_rules(scenario):
    with rolled_back():
        documents = issue(scenario)
        record_coverage(scenario, documents)
        failures = [found for found in map(fatal_findings, documents) if found]

    assert not failures, "\n".join(failures)


# --- what the generator leaves out: refused, or issued and rejected by ANAF (known gaps) ---------------------------


def exempt_line(category: str, code: str):
    return factories.line("Livrare", "1", "100", "0", vat_category=category, vat_exemption_code=code)


def unit_code_outside_rec_20(company) -> Document:
    # BR-CL-23: the services take any 1 to 3 capitals or digits as a unit code.
    return factories.invoice(company, lines=[factories.line(unit_of_measure="ABC")])


def exemption_code_outside_vatex(company) -> Document:
    # BR-CL-22: an exemption reason code is one of the CEF VATEX list.
    return factories.invoice(company, lines=[exempt_line("E", "VATEX-RO-292")])


def currency_outside_anafs_list(company) -> Document:
    # BR-CL-04, BR-CL-03: ISO 4217 as pycountry has it is newer than ANAF's list (VES, MRU, STN, SLE, UYW, VED, …).
    return factories.invoice(company, currency="VES", exchange_rate=D("0.0012"))


def category_o_beside_s(company) -> Document:
    # BR-O-02, BR-O-11, BR-O-12: a document outside the scope of VAT has no other category and no VAT identifiers.
    return factories.invoice(company, lines=[factories.line(), exempt_line("O", "VATEX-EU-O")])


def not_a_vat_payer():
    return factories.company(name="Mic SRL", cif="14399840", is_vat_payer=False)


def intra_community_supply_by_a_non_vat_payer(_) -> Document:
    # BR-IC-02: an intra-community supply names the seller's VAT identifier, which only a VAT payer has.
    seller = not_a_vat_payer()
    buyer = factories.client(
        seller, name="Kunde GmbH", cui="", vat_code="DE123456789", country="DE", county="Bayern", city="München"
    )
    return factories.invoice(seller, client_=buyer, lines=[exempt_line("K", "VATEX-EU-IC")])


def export_by_a_non_vat_payer(_) -> Document:
    # BR-G-02: an export names the seller's VAT identifier too.
    seller = not_a_vat_payer()
    buyer = factories.client(
        seller, name="Buyer Inc", cui="98-7654321", is_vat_payer=False, country="US", county="NY", city="New York"
    )
    return factories.invoice(seller, client_=buyer, lines=[exempt_line("G", "VATEX-EU-G")])


# Data our services accept and ANAF's rules refuse: the UN/ECE rec. 20 unit code list is one we do not carry.
KNOWN_GAPS = (unit_code_outside_rec_20,)
REFUSED = (
    currency_outside_anafs_list,
    exemption_code_outside_vatex,
    category_o_beside_s,
    intra_community_supply_by_a_non_vat_payer,
    export_by_a_non_vat_payer,
)


def control_character_in_a_name(company) -> Document:
    # XML 1.0 cannot carry U+0001: refused when the client is saved, before any document could need it.
    return factories.invoice(company, client_=factories.client(company, name="Client\x01 SRL"))


def assert_refused_or_accepted_by_anaf(make, company) -> None:
    try:
        document = make(company)
    except RuleViolation:
        return
    assert not (found := fatal_findings(document)), found


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(make, id=make.__name__, marks=pytest.mark.xfail(strict=True, raises=AssertionError))
        for make in KNOWN_GAPS
    ],
)
def test_a_known_gap_is_refused_or_accepted_by_anaf(company, make):
    assert_refused_or_accepted_by_anaf(make, company)


@pytest.mark.parametrize("make", [*REFUSED, control_character_in_a_name], ids=lambda make: make.__name__)
def test_data_no_valid_e_invoice_can_carry_is_refused_before_a_number_is_taken(company, make):
    with pytest.raises(RuleViolation):
        make(company)
