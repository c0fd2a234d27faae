"""The gap-free allocator and the series' own writes. Nothing else writes `next_number`."""

import datetime
import re

from django.db import transaction

from accounts.models import Company
from config.db import waiting_for_lock
from config.errors import Violations
from numbering.models import Series, SeriesKind

DEFAULT_SERIES = (
    # (name, prefix, kind)
    ("FAC", "FAC-", SeriesKind.INVOICE),
    ("CN", "CN-", SeriesKind.CREDIT_NOTE),
)
MAX_PADDING = 10
_TRAILING_DIGITS = re.compile(r"\d+$")


def format_number(*, prefix: str, number: int, padding: int, year: int | None) -> str:
    """`CN-2026-0005` for a yearly series, `CN-0005` otherwise."""
    year_part = f"{year}-" if year is not None else ""
    return f"{prefix}{year_part}{str(number).zfill(padding)}"


def allocate(*, series: Series, issue_date: datetime.date) -> str:
    """The next number of `series` for a document issued on `issue_date`.

    Must run inside the issuing transaction, as late as possible in it: the series row stays
    locked until that transaction commits, so concurrent issues get consecutive numbers and a
    rollback leaves no gap.
    """
    assert transaction.get_connection().in_atomic_block, "allocate() runs inside the issuing transaction"
    with waiting_for_lock():
        locked = Series.objects.select_for_update().get(pk=series.pk)
    if locked.yearly:
        if locked.year is None:
            locked.year = issue_date.year  # a new series starts where it was set to (a migration from elsewhere)
        elif issue_date.year > locked.year:
            locked.year, locked.next_number = issue_date.year, 1
        elif issue_date.year < locked.year:
            # December's invoices issued in January: the closed year goes on from its own last number.
            number = _next_in_closed_year(locked, issue_date.year)
            return format_number(prefix=locked.prefix, number=number, padding=locked.padding, year=issue_date.year)
    number = locked.next_number
    locked.next_number = number + 1
    locked.save(update_fields=["year", "next_number", "updated_at"])
    series.year, series.next_number = locked.year, locked.next_number
    return format_number(
        prefix=locked.prefix, number=number, padding=locked.padding, year=locked.year if locked.yearly else None
    )


def _next_in_closed_year(series: Series, year: int) -> int:
    """The next number of a year the series has moved on from, read from what it issued that year.

    Safe because every allocation of the series holds its row lock, which the caller holds now.
    """
    issued = series.documents.filter(issue_date__year=year, number__isnull=False).values_list("number", flat=True)
    numbers = [int(match.group()) for number in issued if (match := _TRAILING_DIGITS.search(number))]
    return max(numbers, default=0) + 1


def _check(values: dict, violations: Violations) -> None:
    name = values.get("name", "")
    if not name or not name.strip():
        violations.add("name", "A series needs a name.")
    if not 0 <= values.get("padding", 4) <= MAX_PADDING:
        violations.add("padding", f"Padding is between 0 and {MAX_PADDING}.")


def series_create(
    *,
    company,
    name: str,
    kind: str,
    prefix: str | None = None,
    yearly: bool = True,
    next_number: int = 1,
    padding: int = 4,
    is_default: bool = False,
) -> Series:
    with transaction.atomic():
        # The unique-name and one-default checks hold only if no other series write of the company interleaves.
        Company.objects.select_for_update().get(pk=company.pk)
        violations = Violations()
        _check({"name": name, "padding": padding}, violations)
        if Series.objects.filter(company=company, name=name).exists():
            violations.add("name", "A series with this name exists already.")
        violations.raise_if_any()
        if is_default:
            Series.objects.select_for_update().filter(company=company, kind=kind, is_default=True).update(
                is_default=False
            )
        return Series.objects.create(
            company=company,
            name=name.strip(),
            prefix=f"{name.strip()}-" if prefix is None else prefix,
            kind=kind,
            yearly=yearly,
            next_number=next_number,
            padding=padding,
            is_default=is_default,
        )


def series_create_defaults(*, company) -> list[Series]:
    return [
        series_create(company=company, name=name, prefix=prefix, kind=kind, is_default=True)
        for name, prefix, kind in DEFAULT_SERIES
    ]


def series_update(*, series: Series, **changes) -> Series:
    """Renames, re-prefixes, re-pads or makes a series the default; `next_number` may only move forward."""
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=series.company_id)
        locked = Series.objects.select_for_update().get(pk=series.pk)
        violations = Violations()
        merged = {"name": locked.name, "padding": locked.padding, **changes}
        _check(merged, violations)
        if "name" in changes and (
            Series.objects.filter(company=locked.company, name=changes["name"]).exclude(pk=locked.pk).exists()
        ):
            violations.add("name", "A series with this name exists already.")
        if "next_number" in changes and changes["next_number"] != locked.next_number:
            # Set it to continue another system's numbering; once this series has issued, moving it on would
            # leave a gap and moving it back would reuse numbers.
            if locked.documents.filter(number__isnull=False).exists():
                violations.add("nextNumber", "The next number is fixed once the series has issued a document.")
        violations.raise_if_any()
        if changes.get("is_default"):
            Series.objects.filter(company=locked.company, kind=locked.kind, is_default=True).exclude(
                pk=locked.pk
            ).update(is_default=False)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save()
        return locked
