from django.contrib import admin

from invoices.models import Client, Document, DocumentLine, Payment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Documents change only through the services (API), which lock and check; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class LineInline(ReadOnlyInline):
    model = DocumentLine
    fields = [
        "position",
        "description",
        "quantity",
        "unit_of_measure",
        "unit_price",
        "discount",
        "vat_rate",
        "vat_category",
        "net_amount",
        "vat_amount",
        "line_total",
    ]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["date", "amount", "method", "reference", "created_at"]


@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    """Clients are written through the API, which checks CUI, county and sector rules."""

    list_display = ["name", "company", "cui", "city", "county", "is_vat_payer", "deleted_at"]
    list_filter = ["type", "is_vat_payer", "county"]
    search_fields = ["name", "cui"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "company", "client", "issue_date", "currency", "total", "status", "anaf_status"]
    list_filter = ["is_credit_note", "status", "anaf_status", "currency"]
    search_fields = ["number", "search_text"]
    date_hierarchy = "issue_date"
    list_select_related = ["company", "client"]
    inlines = [LineInline, PaymentInline]
