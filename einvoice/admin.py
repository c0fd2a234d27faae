from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.html import format_html

from einvoice.models import AnafCredentials, EInvoiceEvent, EInvoiceSubmission
from invoices.admin import ReadOnlyAdmin, ReadOnlyInline


class EventInline(ReadOnlyInline):
    model = EInvoiceEvent
    fields = ["kind", "at", "detail"]


@admin.register(EInvoiceSubmission)
class EInvoiceSubmissionAdmin(ReadOnlyAdmin):
    """Submissions move only through the sync worker, which leases and records every step; the admin shows them."""

    list_display = ["document", "company", "state", "upload_index", "deadline", "attempts", "next_attempt_at"]
    list_filter = ["state", "standard"]
    search_fields = ["document__number"]
    list_select_related = ["document", "company"]
    fields = [
        "company",
        "document",
        "uuid",
        "state",
        "standard",
        "upload_index",
        "uploaded_at",
        "download_id",
        "errors",
        "deadline",
        "attempts",
        "polls",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "updated_at",
        "answer",
        "xml_text",
    ]
    readonly_fields = fields
    inlines = [EventInline]

    @admin.display(description="ANAF's answer (signed ZIP)")
    def answer(self, submission):
        return f"{len(submission.signed_zip)} bytes" if submission.signed_zip else "—"

    @admin.display(description="XML")
    def xml_text(self, submission):
        return format_html("<pre>{}</pre>", bytes(submission.xml).decode("utf-8", "replace"))


@admin.register(AnafCredentials)
class AnafCredentialsAdmin(ReadOnlyAdmin):
    """Written by `manage.py anaf_authorize` and einvoice.tokens only. The secret and the tokens never leave the
    database here: the pages show whether each is stored, from an annotation, and when the tokens expire."""

    list_display = ["company", "client_id", "health", "access_expires_at", "refresh_expires_at", "refreshed_at"]
    list_filter = ["health"]
    search_fields = ["company__name", "company__cif", "client_id"]
    list_select_related = ["company"]
    fields = [
        "company",
        "client_id",
        "redirect_uri",
        "client_secret_stored",
        "health",
        "access_token_stored",
        "access_expires_at",
        "refresh_token_stored",
        "refresh_expires_at",
        "refreshed_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        def stored(condition):
            return ExpressionWrapper(condition, output_field=BooleanField())

        return (
            super()
            .get_queryset(request)
            .defer("client_secret", "access_token", "refresh_token")
            .annotate(
                has_client_secret=stored(~Q(client_secret=b"")),
                has_access_token=stored(Q(access_token__isnull=False) & ~Q(access_token=b"")),
                has_refresh_token=stored(Q(refresh_token__isnull=False) & ~Q(refresh_token=b"")),
            )
        )

    @admin.display(description="Client secret stored", boolean=True)
    def client_secret_stored(self, credentials):
        return credentials.has_client_secret

    @admin.display(description="Access token stored", boolean=True)
    def access_token_stored(self, credentials):
        return credentials.has_access_token

    @admin.display(description="Refresh token stored", boolean=True)
    def refresh_token_stored(self, credentials):
        return credentials.has_refresh_token
