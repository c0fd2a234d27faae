"""Validates a UBL 2.1 Invoice or CreditNote the way ANAF's e-Factura does, and adds what ANAF's rules miss.

Three stages, reported in `Report.ran`:

- "xsd": the OASIS UBL 2.1 schema of the root element, with lxml;
- "schematron": ANAF's CIUS-RO 1.0.9 package (EN16931 as modified by ANAF, plus the RO rules), run with Saxon from
  the prebuilt combined XSLT 2.0, because that combination is what ANAF runs;
- "own": the CIUS-RO rules that the 1.0.9 package fails to evaluate on a CreditNote, and the county and sector rules
  of every address (see "Own checks" below).

The artifacts are reference data kept outside the repository, in settings.EINVOICE_VALIDATION_DIR. Without them only
the own checks run, and the report is never valid.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from lxml import etree
from saxonche import PyDocumentBuilder, PySaxonApiError, PySaxonProcessor, PyXsltExecutable

from accounts.party_rules import BUCHAREST, BUCHAREST_SECTORS, RO_COUNTIES

INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
CREDIT_NOTE = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
SVRL = "http://purl.oclc.org/dsdl/svrl"
NAMESPACES = {"cac": CAC, "cbc": CBC}

# Paths inside settings.EINVOICE_VALIDATION_DIR (the layout of the shared artifacts folder).
SCHEMAS = {
    INVOICE: "ubl-2.1-xsd/maindoc/UBL-Invoice-2.1.xsd",
    CREDIT_NOTE: "ubl-2.1-xsd/maindoc/UBL-CreditNote-2.1.xsd",
}
SCHEMATRON = "cius-ro/xslt-1.0.9-phive/EN16931-CIUS_RO-UBL-validation.xslt"
STAGES = ("xsd", "schematron", "own")

# CIUS-RO writes Bucharest's sectors as SECTOR1 … SECTOR6: party_rules' "Sector 1" without the blank, upper-cased.
UBL_SECTORS = frozenset(sector.upper().replace(" ", "") for sector in BUCHAREST_SECTORS)


@dataclass(frozen=True)
class Finding:
    rule_id: str  # the rule's id: "BR-27", "BR-RO-001"; "XSD" for a schema error, "XML" for unreadable bytes
    flag: str  # "fatal" or "warning"
    message: str
    location: str  # an XPath (SVRL's @location, or ours), or "line N" plus the element's path for the XSD
    source: str  # "xsd", "schematron" or "own"


@dataclass(frozen=True)
class Report:
    ran: tuple[str, ...]  # the stages of STAGES that ran to the end, in that order
    findings: tuple[Finding, ...]
    unavailable: str = ""  # why the XSD and the schematron could not run ("" when the artifacts are there)

    @property
    def fatal(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.flag == "fatal")

    @property
    def valid(self) -> bool:
        """Only a document that went through every stage and has no fatal finding; a skipped stage never passes."""
        return self.ran == STAGES and not self.fatal


def validate(xml: bytes) -> Report:
    artifacts, unavailable = _artifacts()
    root = _parse(xml)
    if isinstance(root, Finding):
        return Report(ran=(), findings=(root,), unavailable=unavailable)
    own = _own_findings(root)
    if artifacts is None:
        return Report(ran=("own",), findings=own, unavailable=unavailable)
    ran = ["xsd"]
    findings = list(artifacts.xsd_findings(root))
    try:
        schematron = artifacts.schematron_findings(root)
    except PySaxonApiError as error:
        # ANAF's XPath stops on some XSD-invalid values (BR-27 compares a non-numeric PriceAmount with 0), and then
        # no schematron verdict exists for the document.
        findings.append(
            Finding("SCHEMATRON", "fatal", f"The CIUS-RO schematron stopped: {str(error).strip()}", "", "schematron")
        )
        schematron = ()
    else:
        ran.append("schematron")
        findings.extend(schematron)
    ran.append("own")
    findings.extend(_not_reported_by(schematron, own))
    return Report(ran=tuple(ran), findings=tuple(findings))


# --- Artifacts ---------------------------------------------------------------------------------------------------


class _Artifacts:
    """The two UBL schemas and the compiled CIUS-RO stylesheet of one folder, loaded once per process."""

    def __init__(self, folder: Path):
        self._schemas = {root: etree.XMLSchema(etree.parse(str(folder / path))) for root, path in SCHEMAS.items()}
        # lxml keeps a schema's error log on the schema object, so threads validating at once would read each
        # other's errors. A validation takes tens of microseconds: a lock is cheaper than a schema per thread.
        self._schema_lock = threading.Lock()
        self._processor = PySaxonProcessor(license=False)
        self._stylesheet = self._processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(folder / SCHEMATRON)
        )
        self._per_thread = threading.local()

    def xsd_findings(self, root: etree._Element) -> tuple[Finding, ...]:
        schema = self._schemas[root.tag]
        with self._schema_lock:
            if schema.validate(root.getroottree()):
                return ()
            errors = list(schema.error_log)
        return tuple(
            Finding("XSD", "fatal", _prefixed(error.message), f"line {error.line} {error.path}".strip(), "xsd")
            for error in errors
        )

    def schematron_findings(self, root: etree._Element) -> tuple[Finding, ...]:
        stylesheet, builder = self._for_this_thread()
        # The document goes over as lxml's serialization: lxml already decoded whatever encoding it declared.
        document = builder.parse_xml(xml_text=etree.tostring(root, encoding="unicode"))
        return _svrl_findings(stylesheet.transform_to_string(xdm_node=document))

    def _for_this_thread(self) -> tuple[PyXsltExecutable, PyDocumentBuilder]:
        # Saxon's compiled stylesheet is immutable and may be shared, but its Python executable is not: every
        # transform stores its source node on it, and a document builder keeps settings. A clone shares the
        # compiled code (cloning takes microseconds), so each thread gets its own clone and builder.
        state = self._per_thread
        if not hasattr(state, "stylesheet"):
            state.stylesheet = self._stylesheet.clone()
            state.builder = self._processor.new_document_builder()
        return state.stylesheet, state.builder


_loaded: dict[Path, _Artifacts] = {}
_loading = threading.Lock()
_NOT_RUN = "the UBL XSD and the CIUS-RO schematron were not run."


def _artifacts() -> tuple[_Artifacts | None, str]:
    """The loaded artifacts, or None and why they cannot be used."""
    configured = settings.EINVOICE_VALIDATION_DIR
    if not configured:
        return None, f"EINVOICE_VALIDATION_DIR is not set: {_NOT_RUN}"
    folder = Path(configured)
    if not folder.is_dir():
        return None, f"EINVOICE_VALIDATION_DIR ({folder}) does not exist: {_NOT_RUN}"
    missing = [path for path in (*SCHEMAS.values(), SCHEMATRON) if not (folder / path).is_file()]
    if missing:
        return None, f"EINVOICE_VALIDATION_DIR ({folder}) lacks {', '.join(missing)}: {_NOT_RUN}"
    if folder not in _loaded:
        # Compiling the stylesheet takes about a second; requests arriving together must not each compile it.
        with _loading:
            if folder not in _loaded:
                _loaded[folder] = _Artifacts(folder)
    return _loaded[folder], ""


# --- Parsing -----------------------------------------------------------------------------------------------------


def _parse(xml: bytes) -> etree._Element | Finding:
    """The root of a UBL Invoice or CreditNote, or the finding that says why the bytes are none."""
    # Entities stay unresolved and nothing is fetched: the bytes may come from outside.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        return Finding("XML", "fatal", f"Not well-formed XML: {error.msg}", f"line {error.lineno}", "xsd")
    if root.getroottree().docinfo.doctype:
        return Finding("XML", "fatal", "A UBL document has no DOCTYPE; this one declares one.", "line 1", "xsd")
    if root.tag not in SCHEMAS:
        message = (
            f"Cannot find the declaration of element {root.tag!r}: the root must be a UBL 2.1 Invoice or CreditNote."
        )
        return Finding("XSD", "fatal", message, f"line {root.sourceline}", "xsd")
    return root


def _svrl_findings(svrl: str) -> tuple[Finding, ...]:
    output = etree.fromstring(svrl.encode())
    return tuple(
        Finding(
            rule_id=result.get("id", ""),
            # An assertion without a flag is an error in Schematron's own reading; never let it pass as a warning.
            flag=result.get("flag") or "fatal",
            message=" ".join(result.findtext(f"{{{SVRL}}}text", "").split()),
            location=result.get("location", ""),
            source="schematron",
        )
        for result in output.iterchildren(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report")
    )


def _prefixed(message: str) -> str:
    """lxml names elements as {namespace}Name; the cac:/cbc: prefixes are what readers of UBL know."""
    for prefix, namespace in NAMESPACES.items():
        message = message.replace(f"{{{namespace}}}", f"{prefix}:")
    return message


# --- Own checks --------------------------------------------------------------------------------------------------
#
# ANAF's 1.0.9 rules address a CreditNote as /ubl:CreditNote/..., but `ubl` is bound to the Invoice namespace, so
# those rules never fire on a CreditNote (verified by running the stylesheet). The ones repeated here:
# - BR-RO-140/150/160/170 (tax representative address) and BR-RO-180/201/202/211/212 (deliver-to address);
# - BR-RO-065/120 (seller's and buyer's identifiers): their trigger looks at cac:InvoiceLine categories only.
# The seller's and buyer's county and sector (BR-RO-100/101/110/111) do fire on a CreditNote; they are repeated so
# that a run without the artifacts still checks the addresses we generate most.
# Not repeated, because other rules in ANAF's package catch the same defect on both roots: the decimals of
# document-level allowances and charges (BR-DEC-RO-01/02/05/06; EN's BR-DEC-01/02/05/06) and of the VAT totals
# (BR-DEC-RO-13/15; UBL-DT-01), and the length of an allowance or charge reason code (BR-RO-L1017/L1018; the code
# lists BR-CL-19/20). BR-RO-L1019 reads cbc:TaxExemptionReason under cac:TaxSubtotal, where UBL has none, so it can
# never fail on either root.
#
# Each own finding carries the id of the ANAF rule it stands in for: that is the id ANAF prints in its errors and the
# one a corrected package would report; `source` says who found it. On an Invoice ANAF's own rules fire and ours
# agree (the tests hold them to it), so an own finding is dropped wherever the schematron reported the same rule.


@dataclass(frozen=True)
class _AddressRules:
    """CIUS-RO's rule ids for one kind of address; None where CIUS-RO has no such rule for it."""

    label: str
    path: str
    county: str
    sector: str
    street: str | None = None
    city: str | None = None
    subdivision: str | None = None


_ADDRESSES = (
    _AddressRules(
        "Seller address (BG-5)", "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress", "BR-RO-110", "BR-RO-100"
    ),
    _AddressRules(
        "Buyer address (BG-8)", "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", "BR-RO-111", "BR-RO-101"
    ),
    _AddressRules(
        "Tax representative address (BG-12)",
        "cac:TaxRepresentativeParty/cac:PostalAddress",
        county="BR-RO-170",
        sector="BR-RO-160",
        street="BR-RO-140",
        city="BR-RO-150",
    ),
    _AddressRules(
        "Deliver-to address (BG-15)",
        "cac:Delivery/cac:DeliveryLocation/cac:Address",
        county="BR-RO-212",
        sector="BR-RO-202",
        street="BR-RO-180",
        city="BR-RO-201",
        subdivision="BR-RO-211",
    ),
)

# Using one of these VAT categories makes BR-RO-065 and BR-RO-120 ask for the parties' identifiers.
_CATEGORIES_NEEDING_IDENTIFIERS = frozenset({"S", "Z", "E", "AE", "K", "G", "L", "M"})


def _own_findings(root: etree._Element) -> tuple[Finding, ...]:
    return (*_address_findings(root), *_identifier_findings(root))


def _not_reported_by(schematron: tuple[Finding, ...], own: tuple[Finding, ...]) -> tuple[Finding, ...]:
    reported = {finding.rule_id for finding in schematron}
    return tuple(finding for finding in own if finding.rule_id not in reported)


def _address_findings(root: etree._Element) -> Iterator[Finding]:
    for rules in _ADDRESSES:
        for address in root.iterfind(rules.path, NAMESPACES):
            yield from _check_address(address, rules)


def _check_address(address: etree._Element, rules: _AddressRules) -> Iterator[Finding]:
    city = _text(address, "cbc:CityName")
    county = _text(address, "cbc:CountrySubentity")
    location = _location(address)
    required = (
        (rules.street, _text(address, "cbc:StreetName"), "street (cbc:StreetName)"),
        (rules.city, city, "city (cbc:CityName)"),
        (rules.subdivision, county, "country subdivision (cbc:CountrySubentity)"),
    )
    for rule_id, value, what in required:
        if rule_id and not value:
            yield Finding(rule_id, "fatal", f"{rules.label}: the {what} is required.", location, "own")
    if _text(address, "cac:Country/cbc:IdentificationCode") != "RO":
        return
    if county not in RO_COUNTIES:
        message = (
            f"{rules.label}: in Romania the county (cbc:CountrySubentity) must be an ISO 3166-2:RO code such as "
            f"RO-CJ or RO-B, not {county!r}."
        )
        yield Finding(rules.county, "fatal", message, location, "own")
    elif county == BUCHAREST and city not in UBL_SECTORS:
        message = f"{rules.label}: in Bucharest (RO-B) the city (cbc:CityName) must be SECTOR1 … SECTOR6, not {city!r}."
        yield Finding(rules.sector, "fatal", message, location, "own")


def _identifier_findings(root: etree._Element) -> Iterator[Finding]:
    if not _uses_categories_needing_identifiers(root):
        return
    if not _seller_identified(root):
        message = (
            "The seller's VAT identifier (BT-31) or tax registration identifier (BT-32), or the tax representative's "
            "VAT identifier (BT-63), is required."
        )
        yield Finding("BR-RO-065", "fatal", message, _location(root), "own")
    if not _buyer_identified(root):
        message = "The buyer's legal registration identifier (BT-47) or VAT identifier (BT-48) is required."
        yield Finding("BR-RO-120", "fatal", message, _location(root), "own")


def _seller_identified(root: etree._Element) -> bool:
    return _exists(root, "cac:TaxRepresentativeParty/cac:PartyTaxScheme/cbc:CompanyID") or _any_text(
        root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
    )


def _buyer_identified(root: etree._Element) -> bool:
    return _exists(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID") or _any_text(
        root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
    )


def _uses_categories_needing_identifiers(root: etree._Element) -> bool:
    line_categories = root.xpath(
        "(cac:InvoiceLine | cac:CreditNoteLine)/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", namespaces=NAMESPACES
    )
    return any(_normalized(category.text) in _CATEGORIES_NEEDING_IDENTIFIERS for category in line_categories) or any(
        _allowance_or_charge_needs_identifiers(charge) for charge in root.iterfind("cac:AllowanceCharge", NAMESPACES)
    )


def _allowance_or_charge_needs_identifiers(charge: etree._Element) -> bool:
    # ANAF counts an allowance's category only under the VAT scheme, a charge's under any scheme.
    is_charge = _text(charge, "cbc:ChargeIndicator") == "true"
    return any(
        _text(category, "cbc:ID") in _CATEGORIES_NEEDING_IDENTIFIERS
        and (is_charge or _text(category, "cac:TaxScheme/cbc:ID") == "VAT")
        for category in charge.iterfind("cac:TaxCategory", NAMESPACES)
    )


def _text(element: etree._Element, path: str) -> str:
    """XPath's normalize-space() of the first match, as ANAF's rules compare values."""
    return _normalized(element.findtext(path, "", NAMESPACES))


def _exists(element: etree._Element, path: str) -> bool:
    return element.find(path, NAMESPACES) is not None


def _any_text(element: etree._Element, path: str) -> bool:
    return any(_normalized(match.text) for match in element.iterfind(path, NAMESPACES))


def _normalized(text: str | None) -> str:
    return " ".join((text or "").split())


def _location(element: etree._Element) -> str:
    """An XPath such as /CreditNote/cac:Delivery[1]/cac:DeliveryLocation[1]/cac:Address[1]."""
    steps = []
    while (parent := element.getparent()) is not None:
        name = etree.QName(element)
        position = 1 + sum(1 for sibling in element.itersiblings(element.tag, preceding=True))
        steps.append(f"{_prefix(name.namespace)}{name.localname}[{position}]")
        element = parent
    steps.append(etree.QName(element).localname)
    return "/" + "/".join(reversed(steps))


def _prefix(namespace: str | None) -> str:
    return next((f"{prefix}:" for prefix, uri in NAMESPACES.items() if uri == namespace), "")
