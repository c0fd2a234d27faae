"""GET/PATCH /api/v1/company: the acting company's profile."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import CreditNoteFormat
from accounts.services import company_update
from config.api import CompanyAPIView
from config.fields import StrictSerializer


class CompanyOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    cif = serializers.CharField()
    vatCode = serializers.CharField(source="vat_code")
    registrationNumber = serializers.CharField(source="registration_number")
    isVatPayer = serializers.BooleanField(source="is_vat_payer")
    address = serializers.CharField()
    city = serializers.CharField()
    county = serializers.CharField()
    country = serializers.CharField()
    postalCode = serializers.CharField(source="postal_code")
    iban = serializers.CharField()
    bank = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    currency = serializers.CharField()
    creditNoteFormat = serializers.CharField(source="credit_note_format")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class CompanyIn(StrictSerializer):
    name = serializers.CharField(max_length=200)
    cif = serializers.CharField(max_length=20)
    vatCode = serializers.CharField(source="vat_code", max_length=30, allow_blank=True)
    registrationNumber = serializers.CharField(source="registration_number", max_length=50, allow_blank=True)
    isVatPayer = serializers.BooleanField(source="is_vat_payer")
    address = serializers.CharField(max_length=150, allow_blank=True)
    city = serializers.CharField(max_length=50, allow_blank=True)
    county = serializers.CharField(max_length=6, allow_blank=True)
    country = serializers.CharField(max_length=2)
    postalCode = serializers.CharField(source="postal_code", max_length=20, allow_blank=True)
    iban = serializers.CharField(max_length=42, allow_blank=True)
    bank = serializers.CharField(max_length=100, allow_blank=True)
    email = serializers.EmailField(max_length=254, allow_blank=True)
    phone = serializers.CharField(max_length=30, allow_blank=True)
    currency = serializers.CharField(max_length=3, min_length=3)
    creditNoteFormat = serializers.ChoiceField(source="credit_note_format", choices=CreditNoteFormat.choices)


class CompanyView(CompanyAPIView):
    @extend_schema(responses=CompanyOut)
    def get(self, request):
        return Response(CompanyOut(request.company).data)

    @extend_schema(request=CompanyIn(partial=True), responses=CompanyOut)
    def patch(self, request):
        company = company_update(company=request.company, **self.validated(CompanyIn, partial=True))
        return Response(CompanyOut(company).data)
