"""The UBL 2.1 namespaces and the element helpers every piece of the builder writes with."""

from lxml import etree

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

PREFIXES = {"cac": CAC, "cbc": CBC}


def root(namespace: str, name: str) -> etree._Element:
    return etree.Element(etree.QName(namespace, name), nsmap={None: namespace, **PREFIXES})


def aggregate(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, etree.QName(CAC, name))


def basic(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, etree.QName(CBC, name), attributes)
    element.text = text
    return element
