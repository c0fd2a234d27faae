"""API plumbing shared by every app: the error shape, the list envelope, the company-scoped base view."""

import functools
import logging
import math
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError, transaction
from django.db.models import BigIntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from psycopg.errors import QueryCanceled
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import idempotency
from accounts.selectors import acting_company
from config.errors import ApplicationError, MalformedRequest

logger = logging.getLogger("stornare.api")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _join(prefix: str, key) -> str:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return f"{prefix}[{key}]"
    if key == "non_field_errors":
        return prefix or "non_field_errors"
    return f"{prefix}.{key}" if prefix else str(key)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as flat paths: {"lines": {0: {"quantity": [...]}}} → {"lines[0].quantity": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            for path, messages in flatten_errors(value, _join(prefix, key)).items():
                flat.setdefault(path, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item in ({}, []):
                continue
            if isinstance(item, (dict, list)):
                flat.update(flatten_errors(item, f"{prefix}[{index}]"))
            else:
                flat.setdefault(prefix or "non_field_errors", []).append(str(item))
    elif isinstance(detail, list):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def summary_of(details: dict[str, list[str]]) -> str:
    if len(details) == 1:
        field, messages = next(iter(details.items()))
        return messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
    return "The request is not valid."


def exception_handler(exc, context):
    """Every error, whatever raised it, in API.md's shape; unexpected ones logged and answered 500."""
    headers = {}
    if isinstance(exc, idempotency.Replay):
        return Response(exc.body, status=exc.status, headers={"Idempotent-Replayed": "true"})
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, exceptions.ValidationError):
        details = flatten_errors(exc.detail)
        return Response(error_body("validation_error", summary_of(details), details), status=422)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        message = str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else "Authentication required."
        return Response(error_body("unauthorized", message), status=401, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        message = str(getattr(exc, "detail", "")) or "Forbidden."
        return Response(error_body("forbidden", message), status=403)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response(error_body("method_not_allowed", str(exc.detail)), status=405)
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(exc.wait or 1)
        headers["Retry-After"] = str(wait)
        return Response(
            error_body("rate_limited", f"Too many requests; retry in {wait} s."), status=429, headers=headers
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(error_body("malformed_request", f"The body is not valid JSON: {exc.detail}"), status=400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(
            error_body("malformed_request", "The body must be a JSON object sent as application/json."), status=400
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "The request body is too large."), status=413)
    if isinstance(exc, exceptions.NotAcceptable):
        return Response(error_body("not_acceptable", str(exc.detail)), status=406)
    if isinstance(exc, exceptions.APIException):
        return Response(error_body(exc.default_code, str(exc.detail)), status=exc.status_code)
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        # The web's statement timeout (config/db.py): the database is overloaded, not the request wrong.
        logger.warning("Statement timeout on %s", getattr(context.get("request"), "path", "?"))
        return Response(
            error_body("service_unavailable", "The database took too long to answer; retry shortly."),
            status=503,
            headers={"Retry-After": "5"},
        )
    request = context.get("request")
    request_id = uuid.uuid4().hex
    logger.exception("Unhandled error %s on %s", request_id, getattr(request, "path", "?"))
    return Response(
        error_body("internal_error", f"Internal error; reference {request_id}."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def json_404(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_500(request):
    return JsonResponse(error_body("internal_error", "Internal error."), status=500)


def json_400(request, exception=None):
    return JsonResponse(error_body("malformed_request", "Bad request."), status=400)


def json_403(request, exception=None):
    return JsonResponse(error_body("forbidden", "Forbidden."), status=403)


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)


@functools.cache
def page_of(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The list envelope around `item_serializer`, as the schema shows it."""
    name = item_serializer.__name__.removesuffix("Out") + "Page"
    fields = {
        "total": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
    }
    return type(name, (serializers.Serializer,), {"data": item_serializer(many=True), **fields})


def paginate(queryset, page: int, limit: int, render, total: QuerySet | None = None) -> dict:
    """API.md's list envelope; past the last page `data` is empty and `total` stays exact.

    `total`, a one-row query of the exact total (by default a separate count), rides on the page's own
    statement as a scalar subquery: one round trip and one snapshot for rows and total alike. Only a page
    past the end asks for it on its own.
    """
    offset = (page - 1) * limit
    if total is None:
        count = queryset.count()
        items = list(queryset[offset : offset + limit]) if offset < count else []
    else:
        totalled = queryset.annotate(list_total=Coalesce(Subquery(total), 0, output_field=BigIntegerField()))
        # An OFFSET past SQL's bigint is past any list's end, and a database error if sent.
        items = list(totalled[offset : offset + limit]) if offset + limit < 2**63 else []
        count = items[0].list_total if items else next((row["total"] for row in total), 0)
    return {"data": render(items), "total": count, "page": page, "limit": limit, "pages": math.ceil(count / limit)}


class CompanyAPIView(APIView):
    """Authenticated, throttled, and acting for one company (request.company)."""

    def initialize_request(self, request, *args, **kwargs):
        # A body sent without a Content-Type would otherwise be read as empty and silently
        # ignored; it is parsed as the JSON the API speaks (and refused if it is not).
        if request.META.get("CONTENT_LENGTH", "0") not in ("", "0") and not request.META.get("CONTENT_TYPE"):
            request.META["CONTENT_TYPE"] = "application/json"
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        self.idempotency_key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        if self.idempotency_key is None:
            return super().dispatch(request, *args, **kwargs)
        # The key, the work and the stored answer commit together, or not at all.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.company = acting_company(user=request.user, header=request.headers.get("X-Company"))
        self.request_hash = None
        if self.idempotency_key is not None:
            # From the raw bytes: parsing the body here would answer a bad body before an unknown path.
            request_hash = idempotency.fingerprint(method=request.method, path=request.path, raw_body=request.body)
            idempotency.claim(company=request.company, key=self.idempotency_key, request_hash=request_hash)
            self.request_hash = request_hash

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "request_hash", None) is not None and response.status_code < 500:
            idempotency.store(
                company=request.company,
                key=self.idempotency_key,
                request_hash=self.request_hash,
                status=response.status_code,
                body=response.data,
            )
        return response

    def body(self) -> dict:
        """The JSON object sent; an empty body is {}."""
        data = self.request.data
        if not isinstance(data, dict):
            raise MalformedRequest("The body must be a JSON object.")
        return data

    def validated(self, serializer_class, data=None, **kwargs):
        serializer = serializer_class(data=self.body() if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def query(self, serializer_class):
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
