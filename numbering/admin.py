from django.contrib import admin

from numbering.models import Series


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "kind", "prefix", "yearly", "year", "next_number", "is_default"]
    list_filter = ["kind", "yearly"]
    search_fields = ["name", "company__name"]
    # next_number moves only under the allocator's row lock (numbering.services).
    readonly_fields = ["uuid", "year", "next_number", "created_at", "updated_at"]
