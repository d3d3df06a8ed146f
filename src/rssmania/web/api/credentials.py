"""Who is calling an API: HTTP Basic, a token header, a Fever key; checked cheaply.

A password is checked with Argon2 (tens of milliseconds, on purpose); a client
that sends it on every request would pay that each time, so a success is
remembered for a few minutes under a digest of the credentials, never the
credentials themselves. Failures go through the login throttle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from rssmania import User
from rssmania.web.context import web

log = logging.getLogger("rssmania.web.api")

REMEMBER = 300.0
"""Seconds a checked password is taken on trust; a changed password waits this long
to shut out a client that still holds the old one (tokens are checked every time)."""


@dataclass
class Remembered:
    users: dict[str, tuple[User, float]] = field(default_factory=dict)

    def get(self, key: str) -> User | None:
        found = self.users.get(key)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, key: str, user: User) -> None:
        now = time.monotonic()
        if len(self.users) > 1000:
            self.users = {k: v for k, v in self.users.items() if v[1] > now}
        self.users[key] = (user, now + REMEMBER)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = text.partition(":")
    return (name, password) if colon else None


async def by_password(request: Request, name: str, password: str) -> User | None:
    """The user of this name and password (or API token given as the password)."""
    w = web(request)
    key = hashlib.sha256(f"{name}\0{password}".encode("utf-8", "surrogatepass")).hexdigest()
    remembered: Remembered = _remembered(request)
    user = remembered.get(key)
    if user is not None:
        return user
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"user:{name.casefold()}")
    if w.throttle.wait(*keys) > 0:
        refuse(request, f"too many failed logins for {name!r} or from {client}")
        return None
    user = await w.run(w.library.user_by_token, password) if password else None
    if user is not None and user.name.casefold() != name.casefold():
        user = None
    if user is None:
        user = await w.run(w.library.authenticate, name, password)
    if user is None:
        w.throttle.failed(*keys)
        refuse(request, f"wrong name or password for {name!r}")
        return None
    w.throttle.succeeded(*keys)
    remembered.put(key, user)
    return user


async def by_token(request: Request, token: str) -> User | None:
    w = web(request)
    user = await w.run(w.library.user_by_token, token) if token else None
    if user is None:
        refuse(request, "unknown API token")
    return user


def refuse(request: Request, why: str) -> None:
    """Logged, so that a user whose app fails can see what the server objected to."""
    client = request.client.host if request.client else "?"
    log.warning("%s %s from %s refused: %s", request.method, request.url.path, client, why)


def _remembered(request: Request) -> Remembered:
    state = request.app.state
    if not hasattr(state, "api_passwords"):
        state.api_passwords = Remembered()
    found: Remembered = state.api_passwords
    return found
