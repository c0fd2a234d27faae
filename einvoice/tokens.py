"""ANAF OAuth tokens per company: encrypted at rest, refreshed before they expire, by one worker at a time.

ANAF rotates the refresh token on every refresh and the old one stops working, so two workers refreshing at once
would leave one of them, and then the company, without a valid token. The refresh happens under the credentials'
row lock, and re-reads the expiry once it holds it: the second worker finds fresh tokens and uses them.
"""

import base64
import datetime
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.db import waiting_for_lock
from config.errors import RuleViolation
from einvoice.anaf import oauth
from einvoice.anaf.client import TerminalError
from einvoice.models import AnafCredentials, TokenHealth

logger = logging.getLogger(__name__)

REFRESH_BEFORE = datetime.timedelta(days=1)  # of the access token's expiry
# The refresh token lives 365 days; a person must authorize again before then, and is told well before.
ALERT_BEFORE = datetime.timedelta(days=30)


def _fernet() -> Fernet:
    """From EINVOICE_TOKEN_KEY (a Fernet key), else derived from SECRET_KEY: rotating either makes the stored
    tokens unreadable, and the company authorizes again."""
    key = settings.EINVOICE_TOKEN_KEY or base64.urlsafe_b64encode(
        hashlib.sha256(b"stornare anaf tokens:" + settings.SECRET_KEY.encode()).digest()
    )
    return Fernet(key)


def seal(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode())


def unseal(sealed: bytes | memoryview) -> str:
    try:
        return _fernet().decrypt(bytes(sealed)).decode()
    except InvalidToken:
        raise RuleViolation("The stored ANAF tokens cannot be read (the key changed): authorize again.") from None


def store(credentials: AnafCredentials, tokens: oauth.Tokens) -> None:
    """Both new tokens, together: the old refresh token no longer works once ANAF has answered."""
    credentials.access_token = seal(tokens.access_token)
    credentials.access_expires_at = tokens.expires_at
    credentials.refresh_token = seal(tokens.refresh_token)
    credentials.refresh_expires_at = tokens.refresh_expires_at or timezone.now() + datetime.timedelta(days=365)
    credentials.refreshed_at = timezone.now()
    if credentials.health == TokenHealth.FAILED:
        credentials.health = TokenHealth.OK  # new tokens: the failure is behind; _alert_if_expiring judges the rest
    credentials.save()
    _alert_if_expiring(credentials)


def health_of(credentials: AnafCredentials) -> str:
    if credentials.refresh_expires_at is None:
        return TokenHealth.OK
    left = credentials.refresh_expires_at - timezone.now()
    if left <= datetime.timedelta(0):
        return TokenHealth.EXPIRED
    return TokenHealth.EXPIRING if left <= ALERT_BEFORE else TokenHealth.OK


def access_token(company, *, oauth_base_url: str = oauth.OAUTH_BASE_URL, transport=None) -> str:
    """The company's current access token, refreshed first when it expires within REFRESH_BEFORE."""
    credentials = AnafCredentials.objects.filter(company=company).first()
    if credentials is None:
        raise RuleViolation("This company has not authorized stornare at ANAF yet (manage.py anaf_authorize).")
    if not _needs_refresh(credentials):
        # The refresh token ages while access tokens (90 days) are reused: its warning cannot wait for a refresh.
        if credentials.health != TokenHealth.FAILED:
            _alert_if_expiring(credentials)
        return unseal(credentials.access_token)
    try:
        return _refresh_under_lock(credentials.pk, oauth_base_url=oauth_base_url, transport=transport)
    except TerminalError:
        # Outside the refresh's transaction, which the error rolled back: the health must stay recorded.
        AnafCredentials.objects.filter(pk=credentials.pk).update(health=TokenHealth.FAILED)
        logger.error("ANAF refused to refresh the tokens of %s: authorize again", credentials.company)
        raise


def _refresh_under_lock(credentials_id: int, *, oauth_base_url: str, transport) -> str:
    with transaction.atomic():
        with waiting_for_lock():  # behind another worker's refresh, however long ANAF takes to answer it
            credentials = AnafCredentials.objects.select_for_update().get(pk=credentials_id)
        if _needs_refresh(credentials):  # another worker may have refreshed while this one waited
            tokens = oauth.refresh(
                client_id=credentials.client_id,
                client_secret=unseal(credentials.client_secret),
                refresh_token=unseal(credentials.refresh_token),
                base_url=oauth_base_url,
                transport=transport,
            )
            store(credentials, tokens)
        return unseal(credentials.access_token)


def _needs_refresh(credentials: AnafCredentials) -> bool:
    if credentials.access_token is None or credentials.access_expires_at is None:
        raise RuleViolation("This company has not authorized stornare at ANAF yet (manage.py anaf_authorize).")
    return credentials.access_expires_at - timezone.now() <= REFRESH_BEFORE


def _alert_if_expiring(credentials: AnafCredentials) -> None:
    """Records the refresh token's health and warns once when it turns (the admin shows it from then on)."""
    health = health_of(credentials)
    if health == credentials.health:
        return
    AnafCredentials.objects.filter(pk=credentials.pk).update(health=health)
    credentials.health = health
    if health != TokenHealth.OK:
        logger.warning(
            "ANAF refresh token of %s: %s (expires %s); authorize again with manage.py anaf_authorize",
            credentials.company,
            health,
            credentials.refresh_expires_at,
        )
