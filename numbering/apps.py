from django.apps import AppConfig


class NumberingConfig(AppConfig):
    name = "numbering"
