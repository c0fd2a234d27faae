from celery import shared_task

from einvoice.sync import advance, dispatch, due_submissions


@shared_task(name="einvoice.sync_submission", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sync_submission(submission_id: int) -> None:
    """One step; the next is scheduled as a new task, so no task outlives the broker's visibility timeout."""
    delay = advance(submission_id)
    if delay is not None:
        dispatch(submission_id, delay)


@shared_task(name="einvoice.sweep", ignore_result=True)
def sweep() -> int:
    """Re-drives every submission whose next step is due and that no worker holds: a lost task, a flushed broker
    or a killed worker delays a sync by one sweep, never loses it."""
    due = list(due_submissions().values_list("pk", flat=True))
    for submission_id in due:
        dispatch(submission_id)
    return len(due)
