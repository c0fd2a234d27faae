from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Companies and access"

    def ready(self):
        import config.openapi  # noqa: F401 - registers the token authentication with the schema generator
