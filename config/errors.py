"""The domain's errors. Services raise these; config.api renders them in API.md's one shape."""


class ApplicationError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class InvalidState(ApplicationError):
    """The document named in the path is in a status that forbids the action."""

    status = 409
    code = "invalid_state"


class RuleViolation(ApplicationError):
    """Invalid input or a business rule broken by it (over-crediting, currency mismatch…)."""

    status = 422
    code = "validation_error"

    @classmethod
    def on(cls, field: str, message: str) -> "RuleViolation":
        return cls(message, {field: [message]})


class MalformedRequest(ApplicationError):
    status = 400
    code = "malformed_request"


class Violations:
    """Collects every violation as field → [messages] before failing, not only the first."""

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(field, []).append(message)

    def merge(self, other: "Violations") -> None:
        for field, messages in other.details.items():
            for message in messages:
                self.add(field, message)

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_if_any(self, summary: str = "The request is not valid.") -> None:
        if self.details:
            first = next(iter(self.details.values()))[0]
            raise RuleViolation(first if len(self.details) == 1 else summary, self.details)
