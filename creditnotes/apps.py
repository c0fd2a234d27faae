from django.apps import AppConfig


class CreditNotesConfig(AppConfig):
    name = "creditnotes"
    verbose_name = "Credit notes"
