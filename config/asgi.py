import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Requests bound their statements; workers and commands, which import settings without this module, do not.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "10s")
application = get_asgi_application()
