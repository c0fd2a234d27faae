import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

MONEY = {"max_digits": 18, "decimal_places": 2}
QUANTITY = {"max_digits": 18, "decimal_places": 4}
LIVE = Q(deleted_at__isnull=True)
# The lists' default ordering (drafts, which have no issue date yet, first: PostgreSQL's DESC puts NULLs first).
NEWEST_FIRST = ("-issue_date", "-created_at", "-id")


class ClientType(models.TextChoices):
    COMPANY = "company"
    INDIVIDUAL = "individual"


class Client(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="clients")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=10, choices=ClientType.choices, default=ClientType.COMPANY)
    name = models.CharField(max_length=200)
    cui = models.CharField("CUI", max_length=30, blank=True)
    vat_code = models.CharField(max_length=30, blank=True)
    registration_number = models.CharField(max_length=50, blank=True)
    is_vat_payer = models.BooleanField(default=False)
    address = models.CharField(max_length=150, blank=True)
    city = models.CharField(max_length=50, blank=True)
    county = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, default="RO")
    postal_code = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="client_company_name")]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class DocumentStatus(models.TextChoices):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_APPLIED = "partially_applied"
    APPLIED = "applied"
    VOIDED = "voided"


# "Issued" in API.md's sense: past draft, and for a credit note not voided.
ISSUED_INVOICE_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_PAID, DocumentStatus.PAID)
LIVE_CREDIT_NOTE_STATUSES = (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_APPLIED, DocumentStatus.APPLIED)


class AnafStatus(models.TextChoices):
    NOT_SUBMITTED = "not_submitted"
    QUEUED = "queued"
    UPLOADED = "uploaded"
    VALIDATED = "validated"
    REJECTED = "rejected"
    ERROR = "error"


# EN 16931 VAT categories used in Romania (L, M and B do not apply here).
VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O")
# The VAT exemption reason codes EN 16931 accepts (CEF VATEX code list, as ANAF's 1.0.9 package checks it: BR-CL-22).
VATEX_CODES = frozenset(
    ["VATEX-EU-79-C", "VATEX-EU-309", "VATEX-EU-AE", "VATEX-EU-D", "VATEX-EU-F", "VATEX-EU-G", "VATEX-EU-I"]
    + ["VATEX-EU-IC", "VATEX-EU-J", "VATEX-EU-O", "VATEX-EU-132", "VATEX-EU-143", "VATEX-EU-148", "VATEX-EU-151"]
    + [f"VATEX-EU-132-1{letter}" for letter in "ABCDEFGHIJKLMNOPQ"]
    + [f"VATEX-EU-143-1{letter}" for letter in ["A", "B", "C", "D", "E", "F", "FA", "G", "H", "I", "J", "K", "L"]]
    + [f"VATEX-EU-148-{letter}" for letter in "ABCDEFG"]
    + [f"VATEX-EU-151-1{letter}" for letter in ["A", "AA", "B", "C", "D", "E"]]
)


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CARD = "card"
    COMPENSATION = "compensation"
    OTHER = "other"


class Document(models.Model):
    """An invoice or a credit note: one table, one representation (API.md "Document")."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="documents")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_credit_note = models.BooleanField(default=False)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTGOING)
    parent_document = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    series = models.ForeignKey("numbering.Series", on_delete=models.PROTECT, related_name="documents")
    number = models.CharField(max_length=50, null=True, blank=True)
    status = models.CharField(max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="documents")
    client_snapshot = models.JSONField(
        null=True, blank=True, help_text="The client's billing data as it was at issue; what the document shows."
    )
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="RON")
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, default=1)
    subtotal = models.DecimalField(**MONEY, default=0)
    vat_total = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    vat_breakdown = models.JSONField(
        default=list, blank=True, help_text="[{vatRate, vatCategory, taxableAmount, vatAmount}] as computed and issued"
    )
    amount_paid = models.DecimalField(**MONEY, default=0, help_text="Invoices: payments and applied credit.")
    applied_amount = models.DecimalField(**MONEY, default=0, help_text="Credit notes: applied to invoices.")
    refunded_amount = models.DecimalField(**MONEY, default=0, help_text="Credit notes: paid back.")
    auto_apply = models.BooleanField(default=True, help_text="Credit notes: apply to the parent on issue.")
    reason = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    internal_notes = models.TextField(blank=True)
    invoice_type_code = models.CharField(max_length=3, default="380")
    search_text = models.TextField(
        blank=True, editable=False, help_text="Number, client name and reason, lower-cased without diacritics."
    )
    anaf_status = models.CharField(max_length=20, choices=AnafStatus.choices, default=AnafStatus.NOT_SUBMITTED)
    anaf_upload_index = models.BigIntegerField(null=True, blank=True)
    anaf_upload_date = models.DateTimeField(null=True, blank=True)
    anaf_download_id = models.CharField(max_length=50, blank=True)
    anaf_errors = models.JSONField(default=list, blank=True)
    pdf_path = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issue_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "series", "number"],
                condition=Q(number__isnull=False),
                name="document_unique_number_per_series",
            ),
            # Only the totals' signs mirror each other: an invoice with a rebate at another rate may have a
            # negative VAT total, and its full credit is its exact negation.
            models.CheckConstraint(
                condition=Q(is_credit_note=False) | Q(total__lte=0), name="credit_note_total_not_positive"
            ),
            models.CheckConstraint(
                condition=Q(is_credit_note=True) | Q(total__gte=0), name="invoice_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, applied_amount__gte=0, refunded_amount__gte=0),
                name="document_settlements_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(is_credit_note=True) | Q(amount_paid__lte=F("total"), applied_amount=0, refunded_amount=0),
                name="invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(is_credit_note=False)
                | Q(amount_paid=0, applied_amount__lte=-F("total") - F("refunded_amount")),
                name="credit_note_used_within_total",
            ),
            models.CheckConstraint(
                condition=Q(is_credit_note=True) | Q(parent_document__isnull=True),
                name="only_credit_notes_have_a_parent",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[*ISSUED_INVOICE_STATUSES, *LIVE_CREDIT_NOTE_STATUSES])
                | Q(number__isnull=False, issue_date__isnull=False),
                name="issued_document_has_number_and_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=DocumentStatus.DRAFT) | Q(number__isnull=True), name="draft_has_no_number"
            ),
        ]
        # Every list reads live documents of one company, newest first: each index below is partial on
        # `deleted_at IS NULL` and ends in the list's ordering, so a filtered first page is an ordered index
        # scan that stops after `limit` rows, and its exact total an index-only count. The trigram index for
        # `search` is PostgreSQL-only (migration 0003). bench/README.md measures each at 1M documents.
        indexes = [
            models.Index(fields=["company", *NEWEST_FIRST], condition=LIVE, name="document_list"),
            models.Index(
                fields=["company", "is_credit_note", *NEWEST_FIRST], condition=LIVE, name="document_list_kind"
            ),
            models.Index(
                fields=["company", "is_credit_note", "status", *NEWEST_FIRST],
                condition=LIVE,
                name="document_list_kind_status",
            ),
            models.Index(fields=["company", "status", *NEWEST_FIRST], condition=LIVE, name="document_list_status"),
            models.Index(fields=["company", "anaf_status", *NEWEST_FIRST], condition=LIVE, name="document_list_anaf"),
            # The company too, though a client has one: the count of a client's documents is then index-only.
            models.Index(fields=["company", "client", *NEWEST_FIRST], condition=LIVE, name="document_list_client"),
            models.Index(fields=["company", "number", "id"], condition=LIVE, name="document_list_by_number"),
            models.Index(fields=["company", "total", "id"], condition=LIVE, name="document_list_by_total"),
            models.Index(fields=["company", "created_at", "id"], condition=LIVE, name="document_list_by_created"),
        ]

    def __str__(self) -> str:
        kind = "Credit note" if self.is_credit_note else "Invoice"
        return f"{kind} {self.number or f'draft #{self.pk}'}"

    @property
    def remaining_credit(self) -> Decimal:
        """Credit notes: what is left to apply or refund (0 once voided)."""
        if not self.is_credit_note or self.status == DocumentStatus.VOIDED:
            return Decimal("0.00")
        return -self.total - self.applied_amount - self.refunded_amount

    @property
    def outstanding(self):
        """Invoices: what is still to be paid."""
        return self.total - self.amount_paid

    @property
    def balance(self):
        return -self.remaining_credit if self.is_credit_note else self.outstanding


class DocumentTally(models.Model):
    """How many live documents of each kind a company has, so that an unfiltered list's exact total reads a
    handful of rows instead of counting a million.

    Database triggers keep it (migration 0003), so every write path, bulk SQL included, stays counted. A
    company's count is the sum of a few shard rows, chosen by document id, so that concurrent creates in one
    company rarely queue on the same row.
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    is_credit_note = models.BooleanField()
    shard = models.PositiveSmallIntegerField()
    live = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "is_credit_note", "shard"], name="document_tally_unique_shard")
        ]

    def __str__(self) -> str:
        return f"{self.company_id}/{'credit notes' if self.is_credit_note else 'invoices'}/{self.shard}: {self.live}"


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(**QUANTITY)
    unit_of_measure = models.CharField(max_length=3, default="H87", help_text="UN/ECE recommendation 20 code")
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=0)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_category = models.CharField(max_length=2, default="S")
    vat_exemption_reason = models.CharField(max_length=300, blank=True)
    vat_exemption_code = models.CharField(max_length=30, blank=True)
    net_amount = models.DecimalField(**MONEY)
    vat_amount = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)
    fixed_vat = models.BooleanField(
        default=False, help_text="A credit by gross amount: its VAT is amount − net, not the rate × its net."
    )
    parent_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="line_unique_position"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
            models.CheckConstraint(condition=~Q(quantity=0), name="line_quantity_not_zero"),
            models.CheckConstraint(condition=Q(vat_rate__gte=0, vat_rate__lte=100), name="line_vat_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.description}"


class Payment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="payments")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount = models.DecimalField(**MONEY)
    date = models.DateField()
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.date}"
