from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import CompanyView
from creditnotes.api import views as credit_notes
from einvoice import api as einvoice
from invoices.api import views as invoices
from numbering.api import SeriesDetailView, SeriesListView

v1 = [
    path("invoices", invoices.DocumentListView.as_view()),
    path("invoices/<uuid:id>", invoices.DocumentDetailView.as_view()),
    path("invoices/<uuid:id>/issue", invoices.DocumentIssueView.as_view()),
    path("invoices/<uuid:id>/credit", invoices.InvoiceCreditView.as_view()),
    path("invoices/<uuid:id>/creditable", invoices.InvoiceCreditableView.as_view()),
    path("invoices/<uuid:id>/payments", invoices.InvoicePaymentView.as_view()),
    path("invoices/<uuid:id>/xml", einvoice.DocumentXmlView.as_view()),
    path("invoices/<uuid:id>/xml/validation", einvoice.DocumentXmlValidationView.as_view()),
    path("invoices/<uuid:id>/einvoice", einvoice.DocumentEInvoiceView.as_view()),
    path("credit_notes", credit_notes.CreditNoteListView.as_view()),
    path("credit_notes/preview", credit_notes.CreditNotePreviewView.as_view()),
    path("credit_notes/stats", credit_notes.CreditNoteStatsView.as_view()),
    path("credit_notes/<uuid:id>", credit_notes.CreditNoteDetailView.as_view()),
    path("credit_notes/<uuid:id>/issue", credit_notes.CreditNoteIssueView.as_view()),
    path("credit_notes/<uuid:id>/apply", credit_notes.CreditNoteApplyView.as_view()),
    path("credit_notes/<uuid:id>/applications", credit_notes.CreditNoteApplicationsView.as_view()),
    path("credit_notes/<uuid:id>/refund", credit_notes.CreditNoteRefundView.as_view()),
    path("credit_notes/<uuid:id>/void", credit_notes.CreditNoteVoidView.as_view()),
    path("company", CompanyView.as_view()),
    path("clients", invoices.ClientListView.as_view()),
    path("clients/<uuid:id>", invoices.ClientDetailView.as_view()),
    path("series", SeriesListView.as_view()),
    path("series/<uuid:id>", SeriesDetailView.as_view()),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("creditnotes.api.legacy")),
]

handler400 = "config.api.json_400"
handler403 = "config.api.json_403"
handler404 = "config.api.json_404"
handler500 = "config.api.json_500"
