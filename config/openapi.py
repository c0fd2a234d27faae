"""What every operation of the API shares, written into the OpenAPI schema once: both token headers,
X-Company, Idempotency-Key on POST, and the one error shape for every error status."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "example": {"lines[0].quantity": ["Cannot credit more than 3 remaining units."]},
                },
            },
        }
    },
}
ERRORS = {
    "400": "malformed_request: the body is not a JSON object",
    "401": "unauthorized: no token, or an unknown, expired or revoked one",
    "403": "forbidden: X-Company missing (several companies), malformed, or not yours",
    "404": "not_found: an id in the path that is unknown or another company's",
    "405": "method_not_allowed",
    "409": "invalid_state, idempotency_conflict or idempotency_in_progress",
    "413": "payload_too_large",
    "422": "validation_error: an invalid field or query parameter, or a business rule broken",
    "429": "rate_limited (Retry-After says when to try again)",
    "503": "service_unavailable: a database statement ran past the web's timeout (Retry-After says when)",
}
BODY_METHODS = {"post", "put", "patch"}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = ["bearerAuth", "authtoken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
            {"type": "apiKey", "in": "header", "name": "authtoken", "description": "authtoken: <token>"},
        ]


def add_conventions(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    # An invoice's body and a credit note's overlap (a PATCH of `notes` is both): "any of", not "exactly one".
    for component in schemas.values():
        if "oneOf" in component:
            component["anyOf"] = component.pop("oneOf")
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            # One requirement naming both schemes would demand both headers; either one authenticates.
            operation["security"] = [
                {name: scopes} for requirement in operation.get("security", []) for name, scopes in requirement.items()
            ]
            parameters = operation.setdefault("parameters", [])
            parameters.append(
                {
                    "in": "header",
                    "name": "X-Company",
                    "required": False,
                    "schema": {"type": "string", "format": "uuid"},
                    "description": "The company to act for; optional when the token's user belongs to one company.",
                }
            )
            if method == "post":
                parameters.append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "Replays the first answer for 24 h; another body with the same key is 409.",
                    }
                )
            statuses = ["401", "403", "405", "422", "429", "503"]
            if "{" in path:
                statuses.append("404")
            if method in BODY_METHODS or method == "delete":
                statuses += ["400", "409", "413"]
            for status in statuses:
                operation.setdefault("responses", {}).setdefault(
                    status, {"description": ERRORS[status], "content": error}
                )
    return result
