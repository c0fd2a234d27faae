from django.contrib import admin

from creditnotes.models import CreditApplication, CreditNote, Refund
from invoices.admin import LineInline, ReadOnlyAdmin, ReadOnlyInline


class ApplicationInline(ReadOnlyInline):
    model = CreditApplication
    fk_name = "credit_note"
    fields = ["invoice", "amount", "created_at", "created_by"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "method", "reference", "created_at"]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "company",
        "client",
        "parent_document",
        "issue_date",
        "total",
        "applied_amount",
        "refunded_amount",
        "status",
    ]
    list_filter = ["status", "anaf_status", "currency"]
    search_fields = ["number", "search_text", "reason"]
    list_select_related = ["company", "client", "parent_document"]
    inlines = [LineInline, ApplicationInline, RefundInline]
