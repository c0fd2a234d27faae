from django.core.management.base import BaseCommand

from accounts.idempotency import purge_expired


class Command(BaseCommand):
    help = "Deletes stored Idempotency-Key answers older than 24 hours (celery beat also runs this hourly)."

    def handle(self, *args, **options):
        self.stdout.write(f"Purged {purge_expired()} expired idempotency record(s).")
