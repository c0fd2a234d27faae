"""API token material: generation and hashing. Tokens are 256-bit random, so a plain SHA-256 is enough."""

import hashlib
import secrets

TOKEN_PREFIX = "stn_"


def new_token_key() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:12]
