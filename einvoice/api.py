"""GET /api/v1/invoices/{id}/xml and …/xml/validation: a document's e-invoice and what the official rules say of it."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from config.errors import InvalidState
from einvoice import validation
from einvoice.ubl.builder import build, filename
from invoices.api.views import DocumentInPathView
from invoices.models import DocumentStatus

# Reported as a finding when the official artifacts are missing, so the answer keeps API.md's shape and says why
# it is not valid.
VALIDATION_UNAVAILABLE = "VALIDATION-UNAVAILABLE"


class FindingOut(serializers.Serializer):
    ruleId = serializers.CharField(source="rule_id")
    flag = serializers.ChoiceField(choices=["fatal", "warning"])
    message = serializers.CharField()
    location = serializers.CharField(allow_blank=True)


class ValidationOut(serializers.Serializer):
    valid = serializers.BooleanField()
    ran = serializers.ListField(child=serializers.ChoiceField(choices=validation.STAGES))
    findings = FindingOut(many=True)


class EInvoiceView(DocumentInPathView):
    def issued_document(self, document_id):
        document = self.document(document_id)
        if document.status == DocumentStatus.DRAFT:
            raise InvalidState("A draft has no e-invoice yet: it gets its number, and its XML, when it is issued.")
        return document


class DocumentXmlView(EInvoiceView):
    @extend_schema(
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="UBL 2.1 CIUS-RO: an Invoice (380), or a CreditNote (381)"
            )
        },
        description="The document's e-invoice: UBL 2.1 in the CIUS-RO profile, as sent to ANAF.",
    )
    def get(self, request, id):
        document = self.issued_document(id)
        response = HttpResponse(build(document), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename(document)}"'
        return response


class DocumentXmlValidationView(EInvoiceView):
    @extend_schema(
        responses=ValidationOut,
        description="The e-invoice checked against the UBL 2.1 XSD, ANAF's CIUS-RO schematron and our own rules. "
        "`valid` only when all three ran without a fatal finding.",
    )
    def get(self, request, id):
        report = validation.validate(build(self.issued_document(id)))
        findings = list(report.findings)
        if report.unavailable:
            findings.append(validation.Finding(VALIDATION_UNAVAILABLE, "warning", report.unavailable, "", source="own"))
        return Response(ValidationOut({"valid": report.valid, "ran": list(report.ran), "findings": findings}).data)
