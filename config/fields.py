"""Serializer fields and base classes for API.md's conventions (money as 2-decimal strings, strict bodies)."""

import re
from decimal import ROUND_HALF_UP, Decimal

from rest_framework import serializers

from invoices.calculations import CENT, MAX_MONEY

MAX_QUANTITY = Decimal("999999999.9999")


class Money(serializers.DecimalField):
    """A string with exactly 2 decimals; strings or numbers on input; never "-0.00"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_MONEY)
        kwargs.setdefault("min_value", -MAX_MONEY)
        super().__init__(max_digits=14, decimal_places=2, **kwargs)

    def to_representation(self, value):
        # Not DRF's: it enforces max_digits on output, and a sum (stats) may exceed one amount's digits.
        return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP) + 0:f}"


class Quantity(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_QUANTITY)
        kwargs.setdefault("min_value", -MAX_QUANTITY)
        super().__init__(max_digits=13, decimal_places=4, **kwargs)

    def to_representation(self, value):
        return super().to_representation(Decimal(value) + 0)


class Rate(serializers.DecimalField):
    """A VAT rate, 0–100 with 2 decimals."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=5, decimal_places=2, min_value=Decimal(0), max_value=Decimal(100), **kwargs)


class ExchangeRate(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=6, min_value=Decimal("0.000001"), **kwargs)


# Characters XML 1.0 cannot carry, and every document becomes XML: C0 controls but tab, line feed and return.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> bool:
    return _NOT_IN_XML.search(text) is None


class StrictSerializer(serializers.Serializer):
    """Input that names a field this endpoint does not take is refused, never silently dropped:
    a client that sends `number`, `status` or `total` learns that it cannot set them. Text that no
    e-invoice could carry is refused too, here rather than when the document is rendered."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in unknown})
            unwritable = sorted(name for name, value in data.items() if isinstance(value, str) and not xml_safe(value))
            if unwritable:
                message = "Control characters cannot be written in an e-invoice."
                raise serializers.ValidationError({name: [message] for name in unwritable})
        return super().to_internal_value(data)


class EmptyIn(StrictSerializer):
    """An action that takes no fields: an empty body or {}."""
