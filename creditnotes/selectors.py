from django.db.models import Count, Q, Sum

from creditnotes.models import CreditApplication
from invoices.models import Document, DocumentStatus


def credit_note_stats(*, company) -> dict:
    """Counts of every non-deleted note by status, and the credit left to use per currency."""
    notes = Document.objects.filter(company=company, is_credit_note=True, deleted_at__isnull=True)
    counts = notes.aggregate(
        total=Count("pk"),
        **{
            status: Count("pk", filter=Q(status=status))
            for status in ("draft", "issued", "partially_applied", "applied", "voided")
        },
    )
    open_notes = notes.filter(status__in=[DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_APPLIED])
    outstanding = {
        row["currency"]: -(row["total"]) - row["applied"] - row["refunded"]
        for row in open_notes.order_by()
        .values("currency")
        .annotate(total=Sum("total"), applied=Sum("applied_amount"), refunded=Sum("refunded_amount"))
    }
    return {**counts, "outstanding_credit": outstanding}


def applications_of(note: Document):
    return (
        CreditApplication.objects.filter(credit_note=note)
        .select_related("invoice", "credit_note")
        .order_by("created_at", "pk")
    )
