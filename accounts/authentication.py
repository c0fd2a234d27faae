import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken
from accounts.tokens import hash_token_key

# Writing last_used on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_from_headers(headers) -> str | None:
    """`authtoken: <token>` or `Authorization: Bearer <token>`."""
    token = headers.get("authtoken")
    if token:
        return token.strip()
    scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class FailedAuthentications:
    """Failed token checks per client address in a fixed window (AUTH_FAILURE_RATE): past the limit the
    address gets 429 without its token being checked, so keys cannot be guessed at request speed."""

    def __init__(self, request):
        self.limit, self.window = SimpleRateThrottle.parse_rate(None, settings.AUTH_FAILURE_RATE)
        started = int(time.time() // self.window) * self.window
        self.retry_after = started + self.window - time.time()
        self.key = f"auth-failures:{request.META.get('REMOTE_ADDR', '-')}:{started}"

    def refuse_if_exhausted(self) -> None:
        if (cache.get(self.key) or 0) >= self.limit:
            raise exceptions.Throttled(wait=self.retry_after)

    def record(self) -> None:
        if not cache.add(self.key, 1, timeout=self.window):
            cache.incr(self.key)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = token_from_headers(request.headers)
        if key is None:
            return None
        failures = FailedAuthentications(request)
        failures.refuse_if_exhausted()
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token_key(key), revoked=False, user__is_active=True)
            .first()
        )
        now = timezone.now()
        if token is None or (token.expires_at is not None and token.expires_at <= now):
            failures.record()
            raise exceptions.AuthenticationFailed("Unknown, expired or revoked token.")
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request):
        return "Bearer"
