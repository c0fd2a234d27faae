from rest_framework import serializers

from accounts.models import CREDIT_NOTE_TYPE_CODES
from config.fields import ExchangeRate, Money, Quantity, Rate, StrictSerializer
from invoices.api.serializers import DocumentIn, LineIn
from invoices.models import VAT_CATEGORIES, PaymentMethod

MAX_LINES = 500


class CreditLineIn(StrictSerializer):
    parentLineId = serializers.UUIDField(source="parent_line_id")
    quantity = Quantity()


class CreditAmountFields(serializers.Serializer):
    """How much to credit: `lines`, or a gross `amount` at `vatRate`; neither credits everything left."""

    amount = Money(required=False, min_value=0)
    vatRate = Rate(source="vat_rate", required=False)
    vatCategory = serializers.ChoiceField(source="vat_category", choices=VAT_CATEGORIES, required=False)
    vatExemptionReason = serializers.CharField(
        source="vat_exemption_reason", max_length=300, required=False, allow_blank=True
    )
    autoApply = serializers.BooleanField(source="auto_apply", required=False)


class EInvoiceFormField(serializers.Serializer):
    invoiceTypeCode = serializers.ChoiceField(
        source="invoice_type_code",
        choices=sorted(set(CREDIT_NOTE_TYPE_CODES.values())),
        required=False,
        help_text="The e-invoice form: 381, a UBL CreditNote with positive amounts, or 380, a storno Invoice with "
        "negative ones. Default: the company's creditNoteFormat.",
    )


class CreditNoteIn(DocumentIn, CreditAmountFields, EInvoiceFormField):
    parentDocumentId = serializers.UUIDField(source="parent_id", required=False, allow_null=True)
    reason = serializers.CharField(max_length=300)
    lines = serializers.ListField(child=serializers.DictField(), max_length=MAX_LINES, required=False)

    def validate_isCreditNote(self, value):
        if not value:
            raise serializers.ValidationError("This body describes a credit note.")
        return value

    def validate(self, attrs):
        """A note on an invoice names the invoice's lines; a standalone note carries whole lines."""
        lines = attrs.get("lines")
        if lines is not None:
            crediting_parent = attrs.get("parent_id") is not None or self.context.get("parent") is not None
            line_serializer = (CreditLineIn if crediting_parent else LineIn)(data=lines, many=True)
            if not line_serializer.is_valid():
                raise serializers.ValidationError({"lines": line_serializer.errors})
            attrs["lines"] = line_serializer.validated_data
        return attrs


class CreditRequestIn(StrictSerializer, CreditAmountFields, EInvoiceFormField):
    """POST /invoices/{id}/credit."""

    lines = CreditLineIn(many=True, max_length=MAX_LINES, required=False)
    reason = serializers.CharField(max_length=300, required=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    internalNotes = serializers.CharField(source="internal_notes", max_length=2000, required=False, allow_blank=True)
    seriesId = serializers.UUIDField(source="series_id", required=False)
    issueDate = serializers.DateField(source="issue_date", required=False, allow_null=True)
    dueDate = serializers.DateField(source="due_date", required=False, allow_null=True)
    exchangeRate = ExchangeRate(source="exchange_rate", required=False, allow_null=True)
    issue = serializers.BooleanField(required=False, default=False)


class ApplyIn(StrictSerializer):
    invoiceId = serializers.UUIDField(source="invoice_id")
    amount = Money(required=False)


class RefundIn(StrictSerializer):
    amount = Money(required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ApplicationOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    creditNoteId = serializers.UUIDField(source="credit_note.uuid")
    invoiceId = serializers.UUIDField(source="invoice.uuid")
    invoiceNumber = serializers.CharField(source="invoice.number")
    amount = Money()
    createdAt = serializers.DateTimeField(source="created_at")


class RefundOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    creditNoteId = serializers.UUIDField(source="credit_note.uuid")
    amount = Money()
    method = serializers.CharField()
    reference = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class StatsOut(serializers.Serializer):
    total = serializers.IntegerField()
    draft = serializers.IntegerField()
    issued = serializers.IntegerField()
    partiallyApplied = serializers.IntegerField(source="partially_applied")
    applied = serializers.IntegerField()
    voided = serializers.IntegerField()
    outstandingCredit = serializers.DictField(source="outstanding_credit", child=Money())
