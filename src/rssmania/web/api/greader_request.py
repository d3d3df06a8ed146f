"""The Google Reader API's door: parameters, logging in, who calls, refusals.

``ClientLogin`` checks the password once (Argon2) and hands out the Library's
login token; every later request carries it (``Authorization: GoogleLogin
auth=...``, also quoted, as ``Bearer``, or as an ``auth`` parameter) and is
checked with one indexed read. An API token (`rssmania user token NAME`) serves
as the password, or as the auth value itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from rssmania import Library
from rssmania.types import User
from rssmania.web.api.greader_streams import BadRequestError
from rssmania.web.context import Web, web

log = logging.getLogger("rssmania.web.api.greader")

MAX_BODY = 8 * 2**20
"""A form this big holds 200,000 item ids: more is no client's."""
MAX_FIELDS = 100_000

PREFIXES = ("", "api/greader.php")
"""Where the API may sit: at the root, or where FreshRSS serves it (apps set up for it)."""
_GOOGLE_LOGIN = re.compile(r"\s*GoogleLogin\s+auth\s*=\s*(.+)", re.IGNORECASE)


class Params:
    """A request's parameters, the query string's and the form's together."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def all(self, *names: str) -> list[str]:
        return [v for name in names for v in self._values.get(name, [])]

    def one(self, *names: str) -> str | None:
        found = self.all(*names)
        return found[0] if found else None


async def read_params(request: Request) -> Params:
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/"):
            form = await request.form(max_files=0)
            pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        else:
            # Without a content type as well: newsboat's curl posts say
            # x-www-form-urlencoded, some clients say nothing.
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    raise BadRequestError(f"a form bigger than {MAX_BODY // 2**20} MB")
            text = body.decode("utf-8", "replace")
            pairs += parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    return Params(pairs)


def refuse(
    request: Request, status: int, reason: str, user: User | None = None, *, body: str | None = None
) -> Response:
    log.warning(
        "greader: refused %s %s (%s) from %s%s: %s",
        request.method,
        request.url.path,
        status,
        request.client.host if request.client else "?",
        f" for {user.name!r}" if user else "",
        reason,
    )
    headers = {"X-Reader-Google-Bad-Token": "true"} if reason.startswith("wrong T") else None
    return PlainTextResponse(
        body or ("Unauthorized" if status == 401 else f"Error={reason}"),
        status_code=status,
        headers=headers,
    )


def json_response(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def ok() -> Response:
    return PlainTextResponse("OK")


def edit_token(auth: str) -> str:
    """The ``T`` token of a login: derived from it, so nothing is stored."""
    return hashlib.sha256(b"T:" + auth.encode("utf-8", "surrogatepass")).hexdigest()[:57]


# -- logging in ------------------------------------------------------------------------


async def client_login(request: Request) -> Response:
    if not known_prefix(request):
        return PlainTextResponse("Not Found", status_code=404)
    try:
        params = await read_params(request)
    except (BadRequestError, ValueError) as exc:  # too big, too many fields
        return refuse(request, 413, str(exc))
    name = (params.one("Email", "email", "user") or "").strip()[:200]
    password = (params.one("Passwd", "passwd", "password") or "")[:2000]
    if not name or not password:
        return refuse(
            request, 401, "ClientLogin without Email and Passwd", body="Error=BadAuthentication\n"
        )
    w = web(request)
    address = request.client.host if request.client else "?"
    keys = (f"address:{address}", f"user:{name.casefold()}")
    wait = w.throttle.wait(*keys)
    if wait > 0:
        return refuse(request, 429, f"too many failed logins for {name!r}: wait {wait:.0f} s")
    token = await w.run(w.library.login_token, name, password)
    if token is None:
        w.throttle.failed(*keys)
        return refuse(
            request, 401, f"BadAuthentication for {name!r}", body="Error=BadAuthentication\n"
        )
    w.throttle.succeeded(*keys)
    if params.one("output") == "json":
        return json_response({"SID": token, "LSID": token, "Auth": token})
    return PlainTextResponse(f"SID={token}\nLSID={token}\nAuth={token}\n")


@dataclass(frozen=True)
class Caller:
    user: User
    auth: str
    params: Params
    w: Web

    @property
    def lib(self) -> Library:
        return self.w.library


async def caller_of(request: Request) -> Caller | Response:
    try:
        params = await read_params(request)
    except (BadRequestError, ValueError) as exc:  # too big, too many fields
        return refuse(request, 413, str(exc))
    header = request.headers.get("authorization", "")
    auth: str | None = None
    if match := _GOOGLE_LOGIN.match(header):
        auth = match.group(1).strip().strip('"')
    elif header[:7].lower() == "bearer ":
        auth = header[7:].strip()
    else:
        auth = params.one("auth", "Auth")
    if not auth:
        return refuse(request, 401, "no credentials (Authorization: GoogleLogin auth=...)")
    if len(auth) > 400:
        return refuse(request, 401, "a login token too long to be one")
    w = web(request)
    user = await w.run(_user_of, w.library, auth)
    if user is None:
        return refuse(request, 401, "an unknown or expired login token: log in again")
    given = params.one("T")
    if (
        given is not None
        and given.strip()
        and not hmac.compare_digest(given.strip(), edit_token(auth))
    ):
        return refuse(request, 401, "wrong T token: ask /reader/api/0/token for one", user)
    return Caller(user, auth, params, w)


def _user_of(lib: Library, auth: str) -> User | None:
    # A ClientLogin token, else an API token (`rssmania user token NAME`) given as is.
    return (lib.user_by_login_token(auth) if "/" in auth else None) or lib.user_by_token(auth)


def known_prefix(request: Request) -> bool:
    return str(request.path_params.get("prefix", "")).strip("/") in PREFIXES
