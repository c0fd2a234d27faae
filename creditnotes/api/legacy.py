"""The legacy facade, /api/credit_notes…, for clients of the older CRM-style API.

Routing only: the same views, selectors and services as /api/v1/credit_notes, with the old paths,
`nr_page`/`per_page` paging, and an `{id}` that is the UUID or the integer key.
"""

import uuid

from django.urls import path, register_converter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers

from config.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_of
from creditnotes.api.views import CreditNoteDetailView, CreditNoteListView
from invoices.api.schema import DOCUMENT_FILTERS
from invoices.api.serializers import DocumentOut

ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The UUID or the integer key.")
# v1's paging parameters, which the list view it reuses documents, are nr_page/per_page here.
NOT_V1_PAGING = [OpenApiParameter("page", exclude=True), OpenApiParameter("limit", exclude=True)]


class DocumentReference:
    """A UUID, or the integer key older clients hold."""

    regex = r"[0-9]{1,18}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value):
        return int(value) if value.isdigit() else uuid.UUID(value)

    def to_url(self, value):
        return str(value)


register_converter(DocumentReference, "docref")


class LegacyPageQuery(serializers.Serializer):
    nr_page = serializers.IntegerField(source="page", min_value=1, default=1)
    per_page = serializers.IntegerField(source="limit", min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)


@extend_schema_view(
    get=extend_schema(
        operation_id="legacy_credit_notes_list",
        parameters=[LegacyPageQuery, *DOCUMENT_FILTERS, *NOT_V1_PAGING],
        responses=page_of(DocumentOut),
    )
)
class LegacyListView(CreditNoteListView):
    """GET lists (v1's filters apply too), POST adds a credit note."""

    page_query = LegacyPageQuery


@extend_schema_view(
    get=extend_schema(
        operation_id="legacy_credit_notes_search",
        parameters=[LegacyPageQuery, *NOT_V1_PAGING, OpenApiParameter("search", exclude=True)],
        responses=page_of(DocumentOut),
    )
)
class LegacySearchView(LegacyListView):
    http_method_names = ["get", "options"]

    def filter_params(self):
        """The term, with the list's other filters (validated like everywhere else)."""
        return {**self.request.query_params.dict(), "search": self.kwargs["term"]}


@extend_schema_view(get=extend_schema(parameters=[ID]), put=extend_schema(parameters=[ID]))
class LegacyDetailView(CreditNoteDetailView):
    """GET one, PUT a draft (the create body, replacing)."""

    http_method_names = ["get", "put", "options"]


@extend_schema_view(delete=extend_schema(parameters=[ID]))
class LegacyDeleteView(CreditNoteDetailView):
    http_method_names = ["delete", "options"]


urlpatterns = [
    path("credit_notes", LegacyListView.as_view()),
    path("credit_notes/search/<str:term>", LegacySearchView.as_view()),
    path("credit_notes/<docref:id>", LegacyDetailView.as_view()),
    path("delete/credit_notes/<docref:id>", LegacyDeleteView.as_view()),
]
