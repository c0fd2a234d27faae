"""The list query of API.md for the OpenAPI schema (validation is invoices.selectors.DocumentFilter's)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from invoices.models import AnafStatus, Direction, DocumentStatus

DOCUMENT_FILTERS = [
    OpenApiParameter("direction", str, enum=Direction.values),
    OpenApiParameter("isCreditNote", str, enum=["true", "false"]),
    OpenApiParameter("search", str, description="Number, client name or reason; case and diacritics ignored."),
    OpenApiParameter(
        "status",
        str,
        enum=sorted({*DocumentStatus.values, *AnafStatus.values} - {"not_submitted", "queued"}),
        description="A lifecycle status, or uploaded|validated|rejected|error matched against anafStatus.",
    ),
    OpenApiParameter("anafStatus", str, enum=AnafStatus.values),
    OpenApiParameter("from", OpenApiTypes.DATE, description="Issue date, inclusive."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Issue date, inclusive."),
    OpenApiParameter("clientId", OpenApiTypes.UUID),
    OpenApiParameter("parentDocumentId", OpenApiTypes.UUID),
    OpenApiParameter("currency", str),
    OpenApiParameter(
        "einvoiceDue",
        str,
        enum=["overdue", "soon"],
        description="Issued documents not yet transmitted to ANAF (not submitted, queued, rejected or failed) whose "
        "5-day transmission deadline has passed (overdue) or ends within 2 days (soon).",
    ),
    OpenApiParameter(
        "ordering", str, description="issueDate, number, total or createdAt; `-` for descending; comma-separated."
    ),
]
