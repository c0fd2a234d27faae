"""/api/v1/credit_notes: the credit-note view of the Document table and its actions."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from config.api import CompanyAPIView, PageQuery, page_of, paginate
from config.fields import EmptyIn
from creditnotes import selectors, services
from creditnotes.api.serializers import (
    ApplicationOut,
    ApplyIn,
    CreditNoteIn,
    RefundIn,
    RefundOut,
    StatsOut,
)
from invoices.api.serializers import DocumentOut
from invoices.api.views import (
    DocumentDetailView,
    DocumentInPathView,
    DocumentIssueView,
    DocumentListView,
    render_document,
)
from invoices.selectors import document_reload


class ApplyOut(serializers.Serializer):
    application = ApplicationOut()
    creditNote = DocumentOut()
    invoice = DocumentOut()


@extend_schema_view(
    get=extend_schema(operation_id="credit_notes_list"),
    post=extend_schema(request=CreditNoteIn, responses={201: DocumentOut}),
)
class CreditNoteListView(DocumentListView):
    credit_notes_only = True


@extend_schema_view(
    patch=extend_schema(request=CreditNoteIn, responses=DocumentOut, description="Edit a draft; any subset."),
    put=extend_schema(request=CreditNoteIn, responses=DocumentOut, description="Replace a draft."),
)
class CreditNoteDetailView(DocumentDetailView):
    credit_notes_only = True


class CreditNoteIssueView(DocumentIssueView):
    credit_notes_only = True


class CreditNoteInPathView(DocumentInPathView):
    credit_notes_only = True


class CreditNotePreviewView(CompanyAPIView):
    @extend_schema(
        request=CreditNoteIn, responses=DocumentOut, description="The note create would make; nothing saved."
    )
    def post(self, request):
        data = self.validated(CreditNoteIn)
        data.pop("is_credit_note", None)
        note = services.credit_note_preview(company=request.company, user=request.user, load=document_reload, **data)
        return Response(DocumentOut(note).data)


class CreditNoteStatsView(CompanyAPIView):
    @extend_schema(responses=StatsOut)
    def get(self, request):
        return Response(StatsOut(selectors.credit_note_stats(company=request.company)).data)


class CreditNoteApplyView(CreditNoteInPathView):
    @extend_schema(request=ApplyIn, responses=ApplyOut)
    def post(self, request, id):
        note = self.document(id)
        application = services.credit_note_apply(document=note, user=request.user, **self.validated(ApplyIn))
        return Response(
            {
                "application": ApplicationOut(application).data,
                "creditNote": render_document(application.credit_note),
                "invoice": render_document(application.invoice),
            }
        )


class CreditNoteApplicationsView(CreditNoteInPathView):
    @extend_schema(parameters=[PageQuery], responses=page_of(ApplicationOut))
    def get(self, request, id):
        page = self.query(PageQuery)
        applications = selectors.applications_of(self.document(id))
        return Response(
            paginate(applications, page["page"], page["limit"], lambda items: ApplicationOut(items, many=True).data)
        )


class CreditNoteRefundView(CreditNoteInPathView):
    @extend_schema(request=RefundIn, responses={201: RefundOut})
    def post(self, request, id):
        refund = services.credit_note_refund(document=self.document(id), user=request.user, **self.validated(RefundIn))
        return Response(RefundOut(refund).data, status=status.HTTP_201_CREATED)


class CreditNoteVoidView(CreditNoteInPathView):
    @extend_schema(request=EmptyIn, responses=DocumentOut)
    def post(self, request, id):
        note = self.document(id)
        self.validated(EmptyIn)
        return Response(render_document(services.credit_note_void(document=note)))
