"""Reads of documents and clients: scoped querysets, the list filters of API.md, annotations."""

import datetime
import uuid

import django_filters
from django.db.models import Case, Count, DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from config.errors import NotFound, RuleViolation
from invoices.models import (
    LIVE_CREDIT_NOTE_STATUSES,
    AnafStatus,
    Client,
    Direction,
    Document,
    DocumentLine,
    DocumentStatus,
    DocumentTally,
)
from invoices.search import search_key
from invoices.services import today_in_romania

ANAF_STATUS_TABS = (AnafStatus.UPLOADED, AnafStatus.VALIDATED, AnafStatus.REJECTED, AnafStatus.ERROR)
# OUG 120/2021 art. 10(7): 5 calendar days from the issue date to transmit to ANAF.
TRANSMISSION_DAYS = 5
DUE_SOON_DAYS = 2
UNTRANSMITTED = (AnafStatus.NOT_SUBMITTED, AnafStatus.QUEUED, AnafStatus.REJECTED, AnafStatus.ERROR)
# Drafts (no issue date yet) first, as PostgreSQL orders NULLs in a descending index; said explicitly so
# that SQLite agrees.
DEFAULT_ORDERING = (F("issue_date").desc(nulls_first=True), "-created_at", "-pk")


def _credited_total():
    """Σ of what issued credit notes take off an invoice (≤ 0): a voided note only what it used."""
    taken = (
        Document.objects.filter(parent_document=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("parent_document")
        .annotate(
            taken=Sum(
                Case(
                    When(status__in=LIVE_CREDIT_NOTE_STATUSES, then=F("total")),
                    When(status=DocumentStatus.VOIDED, then=-(F("applied_amount") + F("refunded_amount"))),
                    default=Value(0),
                    output_field=DecimalField(max_digits=18, decimal_places=2),
                )
            )
        )
        .values("taken")
    )
    return Coalesce(Subquery(taken), Value(0), output_field=DecimalField(max_digits=18, decimal_places=2))


def _live_documents(company, *, credit_notes_only: bool = False):
    documents = Document.objects.filter(company=company, deleted_at__isnull=True)
    return documents.filter(is_credit_note=True) if credit_notes_only else documents


def _as_rendered(documents):
    """What rendering a document reads, fetched with it: one query for the documents, one for their lines."""
    return (
        documents.select_related("client", "series", "parent_document")
        .prefetch_related(Prefetch("lines", queryset=DocumentLine.objects.select_related("parent_line")))
        .annotate(credited_total=_credited_total())
    )


def documents_of(company, *, credit_notes_only: bool = False):
    return _as_rendered(_live_documents(company, credit_notes_only=credit_notes_only))


def document_get(*, company, document_id: uuid.UUID | int, credit_notes_only: bool = False) -> Document:
    """By public UUID, or (the legacy facade) by integer key."""
    lookup = {"pk": document_id} if isinstance(document_id, int) else {"uuid": document_id}
    document = documents_of(company, credit_notes_only=credit_notes_only).filter(**lookup).first()
    if document is None:
        raise NotFound("No such document." if not credit_notes_only else "No such credit note.")
    return document


def document_reload(document: Document) -> Document:
    return documents_of(document.company).get(pk=document.pk)


class TrueFalseFilter(django_filters.TypedChoiceFilter):
    """`true|false` only: anything else is an error, not a silently ignored filter."""

    def __init__(self, **kwargs):
        super().__init__(choices=(("true", "true"), ("false", "false")), coerce=lambda value: value == "true", **kwargs)


class DocumentFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    isCreditNote = TrueFalseFilter(field_name="is_credit_note")
    status = django_filters.ChoiceFilter(
        choices=DocumentStatus.choices + [(s.value, s.label) for s in ANAF_STATUS_TABS], method="filter_status"
    )
    anafStatus = django_filters.ChoiceFilter(field_name="anaf_status", choices=AnafStatus.choices)
    # `from` is a Python keyword, so this filter is declared through the class namespace.
    locals()["from"] = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")
    # By key from a scalar subquery, not by a join on the UUID: the planner then knows the key and walks the
    # client's (or parent's) own index, newest first, instead of the company's whole list.
    clientId = django_filters.UUIDFilter(method="filter_client")
    parentDocumentId = django_filters.UUIDFilter(method="filter_parent")
    currency = django_filters.CharFilter(method="filter_currency", max_length=3)
    einvoiceDue = django_filters.ChoiceFilter(choices=[("overdue", "overdue"), ("soon", "soon")], method="filter_due")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = django_filters.OrderingFilter(
        fields=(("issue_date", "issueDate"), ("number", "number"), ("total", "total"), ("created_at", "createdAt"))
    )

    class Meta:
        model = Document
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        if value in ANAF_STATUS_TABS:
            return queryset.filter(anaf_status=value)
        return queryset.filter(status=value)

    def filter_client(self, queryset, name, value):
        return queryset.filter(client_id=Subquery(Client.objects.filter(uuid=value).order_by().values("pk")))

    def filter_parent(self, queryset, name, value):
        return queryset.filter(parent_document_id=Subquery(Document.objects.filter(uuid=value).order_by().values("pk")))

    def filter_due(self, queryset, name, value):
        """The legal transmission deadline is the issue date + TRANSMISSION_DAYS; what is not at ANAF yet counts."""
        today = today_in_romania()
        last_issue_date = today - datetime.timedelta(days=TRANSMISSION_DAYS)
        untransmitted = queryset.exclude(status=DocumentStatus.DRAFT).filter(anaf_status__in=UNTRANSMITTED)
        if value == "overdue":
            return untransmitted.filter(issue_date__lt=last_issue_date)
        return untransmitted.filter(
            issue_date__gte=last_issue_date, issue_date__lte=last_issue_date + datetime.timedelta(days=DUE_SOON_DAYS)
        )

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.upper())

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_text__contains=search_key(value))


def _tally(company, *, is_credit_note: bool | None):
    tally = DocumentTally.objects.filter(company=company)
    if is_credit_note is not None:
        tally = tally.filter(is_credit_note=is_credit_note)
    return tally.values("company").annotate(total=Sum("live")).values("total")


def _count(documents):
    # Grouped by company, which the list pins to one value: a one-row count usable as a scalar subquery.
    return documents.order_by().values("company").annotate(total=Count("pk")).values("total")


def document_list(*, company, params, credit_notes_only: bool = False) -> tuple[QuerySet, QuerySet]:
    """The filtered, ordered documents, and a one-row query of their exact total.

    Unfiltered (or filtered by kind only) the total is DocumentTally's few rows; otherwise a count over the
    filter's partial index. Raises RuleViolation for invalid parameters.
    """
    filterset = DocumentFilter(params, queryset=_live_documents(company, credit_notes_only=credit_notes_only))
    if not filterset.is_valid():
        details = {field: [str(message) for message in messages] for field, messages in filterset.errors.items()}
        raise RuleViolation("Invalid query parameters.", details)
    given = {name for name, value in filterset.form.cleaned_data.items() if value not in (None, "", [])}
    kind = filterset.form.cleaned_data.get("isCreditNote")
    kind = kind if isinstance(kind, bool) else None  # "" when the parameter is absent
    if given - {"ordering", "isCreditNote"} or (credit_notes_only and kind is False):
        total = _count(filterset.qs)
    else:
        total = _tally(company, is_credit_note=True if credit_notes_only else kind)
    documents = _as_rendered(filterset.qs)
    if not params.get("ordering"):
        documents = documents.order_by(*DEFAULT_ORDERING)
    else:
        documents = documents.order_by(*documents.query.order_by, "-pk")
    return documents, total


def clients_of(company):
    return Client.objects.filter(company=company, deleted_at__isnull=True)


def client_get(*, company, client_id) -> Client:
    client = clients_of(company).filter(uuid=client_id).first()
    if client is None:
        raise NotFound("No such client.")
    return client


def client_list(*, company, search: str | None = None):
    clients = clients_of(company).order_by("name", "pk")
    if search:
        clients = clients.filter(name__icontains=search) | clients.filter(cui__icontains=search)
    return clients
