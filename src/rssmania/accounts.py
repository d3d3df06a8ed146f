"""Passwords and API tokens: what is stored is never what was given.

Passwords are hashed with Argon2id (argon2-cffi's defaults: memory-hard, so
a stolen database costs an attacker memory per guess). API tokens are 256
random bits made here: no guess can find one, so a SHA-256 digest is as safe
as a slow hash and can be looked up by index on every API call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()

MAX_PASSWORD = 1024
"""Longer passwords are refused: hashing megabytes is a cheap denial of service."""


def check_password_text(password: str) -> None:
    if not password:
        raise ValueError("the password is empty")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"the password is longer than {MAX_PASSWORD} characters")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the password holds bytes that are not UTF-8 text") from None


def hash_password(password: str) -> str:
    check_password_text(password)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` is the one ``stored`` was made from; never for no password."""
    if stored is None or not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A new API token and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return secrets.token_hex(32)


def login_signature(secret: str, user_id: int, stored_password: str | None) -> str:
    """What a sync API's login token carries: bound to the user and their password's
    hash, so that a new password ends every token made with the old one."""
    message = f"{user_id}:{stored_password or ''}".encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def fever_digest(name: str, secret: str) -> str:
    """What is kept of a Fever key: a SHA-256 of md5("name:secret"), which Fever's
    clients send. A guess at a password costs an attacker far less than with
    Argon2: an API token, not a password, is the safe secret for Fever."""
    key = hashlib.md5(f"{name}:{secret}".encode("utf-8", "surrogatepass"))
    return token_digest(key.hexdigest())
