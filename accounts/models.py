import uuid

from django.conf import settings
from django.db import models


class CreditNoteFormat(models.TextChoices):
    CREDIT_NOTE = "credit_note", "UBL CreditNote (381), positive amounts"
    STORNO_INVOICE = "storno_invoice", "UBL Invoice (380), negative amounts"


# The invoice type code (BT-3) a credit note gets from each format; a note may name its own.
CREDIT_NOTE_TYPE_CODES = {CreditNoteFormat.CREDIT_NOTE: "381", CreditNoteFormat.STORNO_INVOICE: "380"}


class Company(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    cif = models.CharField("CIF", max_length=20, help_text="Digits only; the RO prefix goes in vat_code.")
    vat_code = models.CharField(max_length=30, blank=True)
    is_vat_payer = models.BooleanField(default=True)
    registration_number = models.CharField(max_length=50, blank=True, help_text="Trade register, e.g. J40/123/2020")
    address = models.CharField(max_length=150, blank=True)
    city = models.CharField(max_length=50, blank=True)
    county = models.CharField(max_length=6, blank=True, help_text="ISO 3166-2:RO, e.g. RO-CJ")
    country = models.CharField(max_length=2, default="RO")
    postal_code = models.CharField(max_length=20, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True)
    bank = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3, default="RON")
    credit_note_format = models.CharField(
        max_length=20, choices=CreditNoteFormat.choices, default=CreditNoteFormat.CREDIT_NOTE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.cif})"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="membership_unique_user_company")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company.name} ({self.role})"


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored; `prefix` lets people tell tokens apart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.user})"


class IdempotencyRecord(models.Model):
    """The answer to a POST made with an Idempotency-Key, stored in the transaction that did its work.

    A record exists only once that work committed; a request still running is told apart by the
    advisory lock it holds (accounts.idempotency).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # JSON as text: jsonb refuses \u0000, which an error echoing a client's field name may contain.
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "key"], name="idempotency_unique_key_per_company")]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"
