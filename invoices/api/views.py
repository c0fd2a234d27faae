"""/api/v1/invoices (both kinds of document) and /api/v1/clients: parse, call one service, render."""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.api import CompanyAPIView, PageQuery, flatten_errors, page_of, paginate
from config.errors import RuleViolation
from creditnotes import services as credit_services
from creditnotes.api.serializers import CreditNoteIn, CreditRequestIn
from invoices import selectors, services
from invoices.api.schema import DOCUMENT_FILTERS
from invoices.api.serializers import (
    ClientIn,
    ClientOut,
    ClientQuery,
    CreditableOut,
    DocumentKindIn,
    DocumentOut,
    InvoiceIn,
    IssueIn,
    PaymentIn,
    PaymentOut,
)

# POST/PUT/PATCH /invoices… take an invoice's body, or a credit note's with isCreditNote: true.
DOCUMENT_BODY = PolymorphicProxySerializer(
    component_name="DocumentIn", serializers=[InvoiceIn, CreditNoteIn], resource_type_field_name=None
)


def render_document(document) -> dict:
    return DocumentOut(selectors.document_reload(document)).data


class DocumentListView(CompanyAPIView):
    """GET lists documents; POST creates an invoice, or a credit note with `isCreditNote: true`."""

    credit_notes_only = False
    page_query = PageQuery  # validated_data: {"page", "limit"}

    def filter_params(self):
        return self.request.query_params

    @extend_schema(
        operation_id="invoices_list", parameters=[PageQuery, *DOCUMENT_FILTERS], responses=page_of(DocumentOut)
    )
    def get(self, request, **kwargs):
        page = self.page_query(data=request.query_params)
        problems = {} if page.is_valid() else flatten_errors(page.errors)
        try:
            documents, total = selectors.document_list(
                company=request.company, params=self.filter_params(), credit_notes_only=self.credit_notes_only
            )
        except RuleViolation as invalid_filters:
            problems.update(invalid_filters.details)
        if problems:
            raise RuleViolation("Invalid query parameters.", problems)
        page = page.validated_data
        return Response(
            paginate(
                documents, page["page"], page["limit"], lambda items: DocumentOut(items, many=True).data, total=total
            )
        )

    @extend_schema(request=DOCUMENT_BODY, responses={201: DocumentOut})
    def post(self, request):
        kind = self.validated(DocumentKindIn, data={"isCreditNote": self.body().get("isCreditNote", False)})
        if self.credit_notes_only or kind["isCreditNote"]:
            data = self.validated(CreditNoteIn)
            data.pop("is_credit_note", None)
            document = credit_services.credit_note_create(company=request.company, user=request.user, **data)
        else:
            data = self.validated(InvoiceIn)
            data.pop("is_credit_note", None)
            document = services.invoice_create(company=request.company, user=request.user, **data)
        return Response(render_document(document), status=status.HTTP_201_CREATED)


class DocumentInPathView(CompanyAPIView):
    """A view about the document named in the path; each subclass answers only its own methods."""

    credit_notes_only = False

    def document(self, document_id):
        return selectors.document_get(
            company=self.request.company, document_id=document_id, credit_notes_only=self.credit_notes_only
        )


class DocumentDetailView(DocumentInPathView):
    @extend_schema(responses=DocumentOut)
    def get(self, request, id):
        return Response(DocumentOut(self.document(id)).data)

    @extend_schema(request=DOCUMENT_BODY, responses=DocumentOut, description="Edit a draft; any subset of fields.")
    def patch(self, request, id):
        return self._update(id, replace=False)

    @extend_schema(request=DOCUMENT_BODY, responses=DocumentOut, description="Replace a draft with a create body.")
    def put(self, request, id):
        return self._update(id, replace=True)

    def _update(self, document_id, *, replace: bool):
        document = self.document(document_id)
        body_class = CreditNoteIn if document.is_credit_note else InvoiceIn
        changes = self.validated(body_class, partial=not replace, context={"parent": document.parent_document})
        for key in ("issue", "is_credit_note"):
            changes.pop(key, None)
        if self.body().get("issue"):
            raise RuleViolation.on("issue", "Issue a draft with POST …/issue.")
        document = credit_services.document_update(document=document, changes=changes, replace=replace)
        return Response(render_document(document))

    @extend_schema(responses={204: None}, description="Delete a draft.")
    def delete(self, request, id):
        services.draft_delete(document=self.document(id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentIssueView(DocumentInPathView):
    @extend_schema(request=IssueIn, responses=DocumentOut)
    def post(self, request, id):
        document = self.document(id)  # an unknown path is 404 before anything about the body
        document = credit_services.document_issue(document=document, user=request.user, **self.validated(IssueIn))
        return Response(render_document(document))


class InvoiceCreditView(DocumentInPathView):
    @extend_schema(request=CreditRequestIn, responses={201: DocumentOut})
    def post(self, request, id):
        invoice = self.document(id)
        data = self.validated(CreditRequestIn)
        note = credit_services.invoice_credit(invoice=invoice, user=request.user, **data)
        return Response(render_document(note), status=status.HTTP_201_CREATED)


class InvoiceCreditableView(DocumentInPathView):
    @extend_schema(responses=CreditableOut)
    def get(self, request, id):
        invoice, remaining = credit_services.invoice_creditable(invoice=self.document(id))
        lines = [
            {
                "parentLineId": line.uuid,
                "quantity": remaining.lines[line.pk].quantity,
                "netAmount": remaining.lines[line.pk].net,
                "vatAmount": remaining.lines[line.pk].vat,
                "lineTotal": remaining.lines[line.pk].total,
            }
            for line in invoice.lines.all()
        ]
        return Response(CreditableOut({"total": remaining.total, "lines": lines}).data)


class InvoicePaymentView(DocumentInPathView):
    @extend_schema(request=PaymentIn, responses={201: PaymentOut})
    def post(self, request, id):
        invoice = self.document(id)
        payment = services.payment_record(document=invoice, user=request.user, **self.validated(PaymentIn))
        return Response(PaymentOut(payment).data, status=status.HTTP_201_CREATED)


class ClientListView(CompanyAPIView):
    @extend_schema(operation_id="clients_list", parameters=[ClientQuery], responses=page_of(ClientOut))
    def get(self, request):
        query = self.query(ClientQuery)
        clients = selectors.client_list(company=request.company, search=query.get("search"))
        return Response(
            paginate(clients, query["page"], query["limit"], lambda items: ClientOut(items, many=True).data)
        )

    @extend_schema(request=ClientIn, responses={201: ClientOut})
    def post(self, request):
        client = services.client_create(company=request.company, **self.validated(ClientIn))
        return Response(ClientOut(client).data, status=status.HTTP_201_CREATED)


class ClientDetailView(CompanyAPIView):
    @extend_schema(responses=ClientOut)
    def get(self, request, id):
        return Response(ClientOut(selectors.client_get(company=request.company, client_id=id)).data)

    @extend_schema(request=ClientIn(partial=True), responses=ClientOut)
    def patch(self, request, id):
        client = selectors.client_get(company=request.company, client_id=id)
        client = services.client_update(client=client, **self.validated(ClientIn, partial=True))
        return Response(ClientOut(client).data)

    @extend_schema(responses={204: None})
    def delete(self, request, id):
        services.client_delete(client=selectors.client_get(company=request.company, client_id=id))
        return Response(status=status.HTTP_204_NO_CONTENT)
