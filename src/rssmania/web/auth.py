"""Logging in and out: server-side sessions, throttled attempts, a CSRF token per session."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rssmania.web.context import SESSION_COOKIE, Viewer, page, protected, viewer_of, web
from rssmania.web.security import same_token

LOGIN_COOKIE = "rssmania_login"
"""A random value the login form repeats (double submit): a login no other site can post."""


def _next(request: Request, value: str | None) -> str:
    # Only a path of this site: never an open redirect elsewhere.
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/"
    return value


async def login_form(request: Request) -> Response:
    if await viewer_of(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request, error=None, status=200)


def _form(request: Request, *, error: str | None, status: int) -> Response:
    check = secrets.token_urlsafe(16)
    response = page(
        request, None, "login.html", check=check, error=error,
        next=_next(request, request.query_params.get("next")),
    )  # fmt: skip
    response.status_code = status
    response.set_cookie(
        LOGIN_COOKIE, check, httponly=True, samesite="strict", secure=_secure(request), max_age=3600
    )
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip()[:200]
    password = str(form.get("password") or "")[:2000]
    if not same_token(str(form.get("check") or ""), request.cookies.get(LOGIN_COOKIE) or "-"):
        return _form(request, error="The form expired: try again.", status=400)
    w = web(request)
    address = request.client.host if request.client else "?"
    keys = (f"address:{address}", f"user:{name.casefold()}")
    wait = w.throttle.wait(*keys)
    if wait > 0:
        return _form(
            request,
            error=f"Too many failed attempts: try again in {int(wait // 60) + 1} min.",
            status=429,
        )
    user = await w.run(w.library.authenticate, name, password) if name and password else None
    if user is None:
        w.throttle.failed(*keys)
        return _form(request, error="Wrong name or password.", status=401)
    w.throttle.succeeded(*keys)
    token, _ = await w.run(w.library.start_session, user.id)
    response = RedirectResponse(_next(request, str(form.get("next") or "/")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=30 * 86400,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@protected
async def logout(request: Request, viewer: Viewer) -> Response:
    await web(request).run(web(request).library.end_session, viewer.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
