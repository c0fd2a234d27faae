import uuid

from django.db import models
from django.db.models import Q

from invoices.models import AnafStatus

# A submission on its way to ANAF, whose work is not done.
ACTIVE_STATES = (AnafStatus.QUEUED, AnafStatus.UPLOADED)
# A document has at most one submission in these states, so a second request finds it instead of uploading the
# document twice; after a rejection or a failure the (corrected) document may be submitted again.
STANDING_STATES = (*ACTIVE_STATES, AnafStatus.VALIDATED)


class EInvoiceSubmission(models.Model):
    """One trip of a document's e-invoice to ANAF, from the outbox to ANAF's final answer.

    Written in the transaction of the request that queues it (the outbox); the worker moves it through
    `queued → uploaded → validated | rejected | error`, recording every step as an event. `next_attempt_at` is
    when a worker should next look at it: the beat sweeper re-drives every submission whose time has come, so a
    lost task delays a sync but never loses it.
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("invoices.Document", on_delete=models.PROTECT, related_name="submissions")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(max_length=20, choices=AnafStatus.choices, default=AnafStatus.QUEUED)
    standard = models.CharField(max_length=3, help_text="UBL (invoices, 380 stornos) or CN (381 credit notes)")
    xml = models.BinaryField(help_text="Exactly what was (or will be) uploaded.")
    upload_index = models.BigIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True, help_text="When ANAF gave the upload its index.")
    download_id = models.CharField(max_length=50, blank=True)
    errors = models.JSONField(default=list, blank=True)
    signed_zip = models.BinaryField(
        null=True, blank=True, help_text="ANAF's answer, kept: ANAF purges it after 60 days."
    )
    deadline = models.DateField(help_text="The legal transmission deadline: 5 working days after the issue date.")
    attempts = models.PositiveIntegerField(default=0, help_text="Provider calls that failed in a row.")
    polls = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a worker should look again.")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A worker's lease on this submission.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document"], condition=Q(state__in=STANDING_STATES), name="submission_one_standing_per_document"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state__in=ACTIVE_STATES), name="submission_due"),
        ]

    def __str__(self) -> str:
        return f"{self.document} → {self.state}"


class EventKind(models.TextChoices):
    QUEUED = "queued"
    UPLOAD = "upload"
    STATUS = "status"
    DOWNLOAD = "download"
    RECONCILE = "reconcile"
    ERROR = "error"


class EInvoiceEvent(models.Model):
    """What happened to a submission: what was sent, the provider's raw answer, and when. Append-only.

    An `upload` event is written, and committed, *before* its request is sent; its answer is filled in after.
    So there is exactly one per upload request, and one without an answer marks an upload whose outcome is
    unknown (the worker died, or the connection dropped): it is reconciled, never blindly repeated.
    """

    submission = models.ForeignKey(EInvoiceSubmission, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class TokenHealth(models.TextChoices):
    OK = "ok"
    EXPIRING = "expiring", "refresh token expires soon: authorize again"
    EXPIRED = "expired", "refresh token expired: authorize again"
    FAILED = "failed", "the last refresh was refused: authorize again"


class AnafCredentials(models.Model):
    """A company's OAuth client at ANAF and its tokens, encrypted at rest (einvoice.tokens); never rendered."""

    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="anaf_credentials")
    client_id = models.CharField(max_length=200)
    client_secret = models.BinaryField(help_text="Encrypted.")
    redirect_uri = models.URLField(max_length=500)
    access_token = models.BinaryField(null=True, blank=True, help_text="Encrypted.")
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = models.BinaryField(null=True, blank=True, help_text="Encrypted.")
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    health = models.CharField(max_length=10, choices=TokenHealth.choices, default=TokenHealth.OK)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "ANAF credentials"

    def __str__(self) -> str:
        return f"ANAF OAuth of {self.company}"
