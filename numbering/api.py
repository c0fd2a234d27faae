"""/api/v1/series: numbering series."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.api import CompanyAPIView, PageQuery, page_of, paginate
from config.errors import NotFound
from config.fields import StrictSerializer
from numbering.models import Series, SeriesKind
from numbering.services import series_create, series_update


class SeriesOut(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    kind = serializers.CharField()
    yearly = serializers.BooleanField()
    year = serializers.IntegerField(allow_null=True)
    nextNumber = serializers.IntegerField(source="next_number")
    padding = serializers.IntegerField()
    isDefault = serializers.BooleanField(source="is_default")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class SeriesIn(StrictSerializer):
    name = serializers.RegexField(r"^[A-Za-z0-9_-]+$", max_length=20)
    prefix = serializers.CharField(max_length=20, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=SeriesKind.choices)
    yearly = serializers.BooleanField(required=False, default=True)
    nextNumber = serializers.IntegerField(source="next_number", min_value=1, max_value=10**9, required=False, default=1)
    padding = serializers.IntegerField(min_value=0, max_value=10, required=False, default=4)
    isDefault = serializers.BooleanField(source="is_default", required=False, default=False)


class SeriesPatchIn(StrictSerializer):
    name = serializers.RegexField(r"^[A-Za-z0-9_-]+$", max_length=20, required=False)
    prefix = serializers.CharField(max_length=20, required=False, allow_blank=True)
    nextNumber = serializers.IntegerField(source="next_number", min_value=1, max_value=10**9, required=False)
    padding = serializers.IntegerField(min_value=0, max_value=10, required=False)
    isDefault = serializers.BooleanField(source="is_default", required=False)


def series_get(*, company, series_id) -> Series:
    series = Series.objects.filter(company=company, uuid=series_id).first()
    if series is None:
        raise NotFound("No such series.")
    return series


class SeriesListView(CompanyAPIView):
    @extend_schema(operation_id="series_list", parameters=[PageQuery], responses=page_of(SeriesOut))
    def get(self, request):
        page = self.query(PageQuery)
        series = Series.objects.filter(company=request.company).order_by("kind", "name", "pk")
        return Response(paginate(series, page["page"], page["limit"], lambda items: SeriesOut(items, many=True).data))

    @extend_schema(request=SeriesIn, responses={201: SeriesOut})
    def post(self, request):
        series = series_create(company=request.company, **self.validated(SeriesIn))
        return Response(SeriesOut(series).data, status=status.HTTP_201_CREATED)


class SeriesDetailView(CompanyAPIView):
    @extend_schema(responses=SeriesOut)
    def get(self, request, id):
        return Response(SeriesOut(series_get(company=request.company, series_id=id)).data)

    @extend_schema(request=SeriesPatchIn, responses=SeriesOut)
    def patch(self, request, id):
        series = series_get(company=request.company, series_id=id)
        return Response(SeriesOut(series_update(series=series, **self.validated(SeriesPatchIn))).data)
