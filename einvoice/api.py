"""A document's e-invoice: GET …/xml and …/xml/validation (the document and what the official rules say of it),
POST/GET …/einvoice (its submission to ANAF)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.errors import InvalidState
from config.fields import EmptyIn
from einvoice import services, validation
from einvoice.models import EventKind
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


class EventOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    at = serializers.DateTimeField()
    detail = serializers.JSONField()


class SubmissionOut(serializers.Serializer):
    anafStatus = serializers.CharField()
    uploadIndex = serializers.IntegerField(allow_null=True)
    downloadId = serializers.CharField(allow_blank=True)
    errors = serializers.JSONField()
    deadline = serializers.DateField(allow_null=True)
    events = EventOut(many=True)


class DocumentEInvoiceView(EInvoiceView):
    @extend_schema(
        request=EmptyIn,
        responses={202: SubmissionOut, 200: SubmissionOut},
        description="Queue the upload to ANAF: 202 with the new submission; 200 with the one already under way "
        "or accepted. A rejected document may be submitted again.",
    )
    def post(self, request, id):
        self.validated(EmptyIn)
        submission, created = services.submission_queue(document=self.issued_document(id))
        return Response(
            SubmissionOut(services.submission_status(submission.document)).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=SubmissionOut)
    def get(self, request, id):
        return Response(SubmissionOut(services.submission_status(self.document(id), redrive=True)).data)
