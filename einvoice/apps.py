from django.apps import AppConfig


class EInvoiceConfig(AppConfig):
    name = "einvoice"
    verbose_name = "e-Factura"
