import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Requests bound their statements; workers and commands, which import settings without this module, do not.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "10s")
application = get_wsgi_application()
