from rest_framework import serializers

from config.api import PageQuery
from config.fields import ExchangeRate, Money, Quantity, Rate, StrictSerializer
from invoices.models import VAT_CATEGORIES, ClientType, PaymentMethod

# --- output --------------------------------------------------------------------------------------


class EmbeddedSeries(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    nextNumber = serializers.IntegerField(source="next_number")
    year = serializers.IntegerField(allow_null=True)


class ClientOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    type = serializers.CharField()
    name = serializers.CharField()
    cui = serializers.CharField()
    vatCode = serializers.CharField(source="vat_code")
    registrationNumber = serializers.CharField(source="registration_number")
    isVatPayer = serializers.BooleanField(source="is_vat_payer")
    address = serializers.CharField()
    city = serializers.CharField()
    county = serializers.CharField()
    country = serializers.CharField()
    postalCode = serializers.CharField(source="postal_code")
    email = serializers.CharField()
    phone = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class LineOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    position = serializers.IntegerField()
    description = serializers.CharField()
    quantity = Quantity()
    unitOfMeasure = serializers.CharField(source="unit_of_measure")
    unitPrice = Money(source="unit_price")
    discount = Money()
    vatRate = Rate(source="vat_rate")
    vatCategory = serializers.CharField(source="vat_category")
    vatExemptionReason = serializers.CharField(source="vat_exemption_reason")
    vatExemptionCode = serializers.CharField(source="vat_exemption_code")
    netAmount = Money(source="net_amount")
    vatAmount = Money(source="vat_amount")
    lineTotal = Money(source="line_total")
    parentLineId = serializers.SerializerMethodField()

    def get_parentLineId(self, line) -> str | None:
        return str(line.parent_line.uuid) if line.parent_line_id else None


class DocumentOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    number = serializers.CharField(allow_null=True)
    isCreditNote = serializers.BooleanField(source="is_credit_note")
    direction = serializers.CharField()
    isIncoming = serializers.SerializerMethodField()
    status = serializers.CharField()
    anafStatus = serializers.CharField(source="anaf_status")
    seriesId = serializers.UUIDField(source="series.uuid")
    documentSeries = serializers.CharField(source="series.name")
    series = EmbeddedSeries()
    clientId = serializers.UUIDField(source="client.uuid")
    clientName = serializers.SerializerMethodField()
    client = serializers.SerializerMethodField()
    parentDocumentId = serializers.UUIDField(source="parent_document.uuid", allow_null=True, default=None)
    parentDocument = serializers.SerializerMethodField()
    issueDate = serializers.DateField(source="issue_date", allow_null=True)
    dueDate = serializers.DateField(source="due_date", allow_null=True)
    currency = serializers.CharField()
    exchangeRate = serializers.DecimalField(source="exchange_rate", max_digits=18, decimal_places=6)
    subtotal = Money()
    vatTotal = Money(source="vat_total")
    vatAmount = Money(source="vat_total")
    total = Money()
    amountPaid = Money(source="amount_paid")
    balance = Money()
    appliedAmount = Money(source="applied_amount")
    refundedAmount = Money(source="refunded_amount")
    remainingCredit = Money(source="remaining_credit")
    creditedTotal = serializers.SerializerMethodField()
    autoApply = serializers.BooleanField(source="auto_apply")
    reason = serializers.CharField()
    notes = serializers.CharField()
    internalNotes = serializers.CharField(source="internal_notes")
    invoiceTypeCode = serializers.CharField(source="invoice_type_code")
    anafUploadIndex = serializers.IntegerField(source="anaf_upload_index", allow_null=True)
    anafUploadDate = serializers.DateTimeField(source="anaf_upload_date", allow_null=True)
    anafDownloadId = serializers.SerializerMethodField()
    anafErrors = serializers.ListField(source="anaf_errors", child=serializers.JSONField())
    pdfPath = serializers.SerializerMethodField()
    vatBreakdown = serializers.SerializerMethodField()
    lines = LineOut(many=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)

    def get_isIncoming(self, document) -> bool:
        return document.direction == "incoming"

    def get_clientName(self, document) -> str:
        return (document.client_snapshot or {}).get("name") or document.client.name

    def get_client(self, document) -> dict:
        """What the document shows: the snapshot taken at issue, the live client while a draft."""
        live = ClientOut(document.client).data
        if document.client_snapshot:
            snapshot = document.client_snapshot
            for api_name, field in (
                ("type", "type"),
                ("name", "name"),
                ("cui", "cui"),
                ("vatCode", "vat_code"),
                ("registrationNumber", "registration_number"),
                ("isVatPayer", "is_vat_payer"),
                ("address", "address"),
                ("city", "city"),
                ("county", "county"),
                ("country", "country"),
                ("postalCode", "postal_code"),
                ("email", "email"),
                ("phone", "phone"),
            ):
                if field in snapshot:
                    live[api_name] = snapshot[field]
        return live

    def get_parentDocument(self, document) -> dict | None:
        parent = document.parent_document
        if parent is None:
            return None
        return {
            "id": str(parent.uuid),
            "uuid": str(parent.uuid),
            "number": parent.number,
            "issueDate": parent.issue_date.isoformat() if parent.issue_date else None,
            "total": Money().to_representation(parent.total),
        }

    def get_creditedTotal(self, document) -> str:
        if document.is_credit_note:
            return "0.00"
        return Money().to_representation(getattr(document, "credited_total", 0))

    def get_anafDownloadId(self, document) -> str | None:
        return document.anaf_download_id or None

    def get_pdfPath(self, document) -> str | None:
        return document.pdf_path or None

    def get_vatBreakdown(self, document) -> list[dict]:
        money = Money()
        return [
            {
                "vatRate": Rate().to_representation(row["vatRate"]),
                "vatCategory": row["vatCategory"],
                "taxableAmount": money.to_representation(row["taxableAmount"]),
                "vatAmount": money.to_representation(row["vatAmount"]),
            }
            for row in document.vat_breakdown
        ]


class PaymentOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    invoiceId = serializers.UUIDField(source="document.uuid")
    amount = Money()
    date = serializers.DateField()
    method = serializers.CharField()
    reference = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class CreditableLineOut(serializers.Serializer):
    parentLineId = serializers.UUIDField()
    quantity = Quantity()
    netAmount = Money()
    vatAmount = Money()
    lineTotal = Money()


class CreditableOut(serializers.Serializer):
    total = Money()
    lines = CreditableLineOut(many=True)


# --- input ---------------------------------------------------------------------------------------


class LineIn(StrictSerializer):
    description = serializers.CharField(max_length=200)
    quantity = Quantity()
    unitOfMeasure = serializers.CharField(source="unit_of_measure", max_length=3, required=False)
    unitPrice = Money(source="unit_price", min_value=0)
    discount = Money(min_value=0, required=False)
    vatRate = Rate(source="vat_rate")
    vatCategory = serializers.ChoiceField(source="vat_category", choices=VAT_CATEGORIES, required=False)
    vatExemptionReason = serializers.CharField(
        source="vat_exemption_reason", max_length=300, required=False, allow_blank=True
    )
    vatExemptionCode = serializers.CharField(
        source="vat_exemption_code", max_length=30, required=False, allow_blank=True
    )


class DocumentKindIn(serializers.Serializer):
    isCreditNote = serializers.BooleanField(default=False)


class DocumentIn(StrictSerializer):
    """The fields both kinds of document take."""

    isCreditNote = serializers.BooleanField(source="is_credit_note", required=False)
    clientId = serializers.UUIDField(source="client_id", required=False)
    seriesId = serializers.UUIDField(source="series_id", required=False)
    issueDate = serializers.DateField(source="issue_date", required=False, allow_null=True)
    dueDate = serializers.DateField(source="due_date", required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    exchangeRate = ExchangeRate(source="exchange_rate", required=False, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    internalNotes = serializers.CharField(source="internal_notes", max_length=2000, required=False, allow_blank=True)
    issue = serializers.BooleanField(required=False, default=False)

    def validate_currency(self, value):
        return value.upper()


class InvoiceIn(DocumentIn):
    lines = LineIn(many=True, max_length=500)

    def validate_isCreditNote(self, value):
        if value:
            raise serializers.ValidationError("This body describes an invoice.")
        return value


class IssueIn(StrictSerializer):
    autoApply = serializers.BooleanField(source="auto_apply", required=False)


class PaymentIn(StrictSerializer):
    amount = Money()
    date = serializers.DateField(required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ClientQuery(PageQuery):
    search = serializers.CharField(max_length=200, required=False)


class ClientIn(StrictSerializer):
    type = serializers.ChoiceField(choices=ClientType.choices, required=False)
    name = serializers.CharField(max_length=200)
    cui = serializers.CharField(max_length=30, required=False, allow_blank=True)
    vatCode = serializers.CharField(source="vat_code", max_length=30, required=False, allow_blank=True)
    registrationNumber = serializers.CharField(
        source="registration_number", max_length=50, required=False, allow_blank=True
    )
    isVatPayer = serializers.BooleanField(source="is_vat_payer", required=False)
    address = serializers.CharField(max_length=150, required=False, allow_blank=True)
    city = serializers.CharField(max_length=50, required=False, allow_blank=True)
    county = serializers.CharField(max_length=50, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False)
    postalCode = serializers.CharField(source="postal_code", max_length=20, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
