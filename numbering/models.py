import uuid

from django.db import models
from django.db.models import Q


class SeriesKind(models.TextChoices):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Series(models.Model):
    """A numbering series. Only numbering.services writes `next_number`, under a row lock."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="series")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=20)
    prefix = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=20, choices=SeriesKind.choices)
    yearly = models.BooleanField(default=True, help_text="Numbers restart at 1 every year of issue.")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    next_number = models.PositiveIntegerField(default=1)
    padding = models.PositiveSmallIntegerField(default=4)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "series"
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="series_unique_name_per_company"),
            models.UniqueConstraint(
                fields=["company", "kind"], condition=Q(is_default=True), name="series_one_default_per_kind"
            ),
            models.CheckConstraint(condition=Q(next_number__gte=1), name="series_next_number_positive"),
            models.CheckConstraint(condition=Q(padding__lte=10), name="series_padding_at_most_10"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
