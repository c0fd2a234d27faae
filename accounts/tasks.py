from celery import shared_task

from accounts.idempotency import purge_expired


@shared_task(name="accounts.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return purge_expired()
