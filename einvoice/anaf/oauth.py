"""OAuth 2.0 with ANAF's identity provider (logincert.anaf.ro, the same for test and production).

The authorization step needs the user's qualified certificate in a browser; exchanging the code (within 60 s) and
refreshing are headless: Basic auth with the client id and secret, a form body, and token_content_type=jwt (tokens
issued without it are refused with 401). A refresh rotates the refresh token: persist both tokens of every answer,
and let one worker at a time refresh (a lock per certificate), since a refresh lost in transit may already have
retired the old refresh token.

Failures raise the client's errors: RetryableError (network, 5xx, 429, an unreadable answer) or TerminalError
(an OAuth error such as invalid_grant: authorize again).
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from einvoice.anaf.client import (
    DEFAULT_TIMEOUTS,
    RetryableError,
    TerminalError,
    Timeouts,
    retry_after_seconds,
    transport_failure,
    with_trailing_slash,
)

OAUTH_BASE_URL = "https://logincert.anaf.ro/anaf-oauth2/v1/"
# The access token's lifetime per ANAF's OAuth procedure (p. 34), for an answer that states none.
ACCESS_TOKEN_LIFETIME = timedelta(days=90)
_REDACTED = "<redacted>"


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    refresh_expires_at: datetime | None = None  # from the refresh token's JWT `exp`, when it can be read


def authorize_url(
    client_id: str, redirect_uri: str, *, state: str | None = None, base_url: str = OAUTH_BASE_URL
) -> str:
    """Where to send the user's browser. `redirect_uri` must be the registered callback, exactly."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "token_content_type": "jwt",
    }
    if state is not None:
        params["state"] = state
    return f"{with_trailing_slash(base_url)}authorize?{urlencode(params)}"


def exchange_code(
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    base_url: str = OAUTH_BASE_URL,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    transport: httpx.BaseTransport | None = None,
) -> Tokens:
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _request_tokens(grant, client_id, client_secret, base_url=base_url, timeouts=timeouts, transport=transport)


def refresh(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    base_url: str = OAUTH_BASE_URL,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    transport: httpx.BaseTransport | None = None,
) -> Tokens:
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _request_tokens(grant, client_id, client_secret, base_url=base_url, timeouts=timeouts, transport=transport)


def _request_tokens(
    grant: dict[str, str],
    client_id: str,
    client_secret: str,
    *,
    base_url: str,
    timeouts: Timeouts,
    transport: httpx.BaseTransport | None,
) -> Tokens:
    asked_at = datetime.now(UTC)  # before sending, so a lifetime counted from it ends early rather than late
    with httpx.Client(timeout=timeouts.to_httpx(), transport=transport) as http:
        try:
            response = http.post(
                with_trailing_slash(base_url) + "token",
                data={**grant, "token_content_type": "jwt"},
                auth=httpx.BasicAuth(client_id, client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as error:
            raise transport_failure(error, upload=False) from error
    return _read_tokens(response, asked_at)


def _read_tokens(response: httpx.Response, asked_at: datetime) -> Tokens:
    code = response.status_code
    if code == 429:
        raise RetryableError(
            "Too many token requests", raw=response.text, status_code=code, retry_after=retry_after_seconds(response)
        )
    if code >= 500:
        raise RetryableError(f"HTTP {code} from ANAF's identity provider", raw=response.text, status_code=code)
    body = _json_object(response)
    if body is not None and "error" in body:
        description = body.get("error_description")
        message = f"{body['error']}: {description}" if description else str(body["error"])
        raise TerminalError(message, raw=response.text, status_code=code)
    access_token = body.get("access_token") if body else None
    refresh_token = body.get("refresh_token") if body else None
    if code == 200 and isinstance(access_token, str) and isinstance(refresh_token, str):
        return Tokens(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=_access_expiry(body, access_token, asked_at),
            refresh_expires_at=_jwt_expiry(refresh_token),
        )
    # The answer may hold one token: never put a token into `raw`, which goes to the event log.
    raw = json.dumps(_redacted(body)) if body is not None else response.text
    if 200 <= code < 300:
        raise RetryableError("Unreadable answer from ANAF's identity provider", raw=raw, status_code=code)
    raise TerminalError(f"HTTP {code} from ANAF's identity provider", raw=raw, status_code=code)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _access_expiry(body: dict[str, Any], access_token: str, asked_at: datetime) -> datetime:
    try:
        return asked_at + timedelta(seconds=float(body["expires_in"]))
    except (KeyError, TypeError, ValueError):
        return _jwt_expiry(access_token) or asked_at + ACCESS_TOKEN_LIFETIME


def _jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim, read without checking the signature: it only schedules the next refresh."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON all are ValueErrors
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(expiry, int | float):
        return None
    return datetime.fromtimestamp(expiry, UTC)


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    return {key: _REDACTED if "token" in key else value for key, value in body.items()}
