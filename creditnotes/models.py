import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from invoices.models import MONEY, Document, PaymentMethod


class CreditNoteManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(is_credit_note=True)


class CreditNote(Document):
    """The credit notes of the Document table, for their own admin and API."""

    objects = CreditNoteManager()

    class Meta:
        proxy = True


class CreditApplication(models.Model):
    """Credit from a note applied to an invoice. Append-only."""

    credit_note = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="applications")
    invoice = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="received_applications")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount = models.DecimalField(**MONEY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} from {self.credit_note} to {self.invoice}"


class Refund(models.Model):
    """Credit paid back to the client out of a note's remaining credit. Append-only."""

    credit_note = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="refunds")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.credit_note}"
