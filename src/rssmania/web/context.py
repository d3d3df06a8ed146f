"""What every request handler shares: the library, a bounded thread pool, templates."""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
import jinja2
from anyio import CapacityLimiter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from rssmania import Library, User
from rssmania.web.security import LoginThrottle, same_token

P = ParamSpec("P")
T = TypeVar("T")

SESSION_COOKIE = "rssmania_session"
MAX_UPLOAD = 16 * 2**20
TEMPLATES = Path(__file__).parent / "templates"
# Images load when scrolled to; links open apart from the reader, and tell the
# site nothing of where they came from.
_IMG = re.compile(r"<img\b", re.IGNORECASE)
_A = re.compile(r"<a\b", re.IGNORECASE)


@dataclass(frozen=True)
class Viewer:
    user: User
    csrf: str
    token: str


@dataclass
class Web:
    library: Library
    user_agent: str
    refuse_private: bool
    limiter: CapacityLimiter
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    templates: Jinja2Templates = field(init=False)
    undo: dict[str, tuple[int, tuple[int, ...], float]] = field(default_factory=dict)
    """Undo tokens of "mark all read": (user id, the entries it marked, when)."""

    def __post_init__(self) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates = Jinja2Templates(env=env)
        self.templates.env.filters["article_html"] = article_html
        self.templates.env.filters["iso"] = lambda d: d.isoformat() if d else ""
        self.templates.env.filters["ago"] = ago

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A library call on the thread pool: the event loop never waits on SQLite."""
        return await anyio.to_thread.run_sync(
            functools.partial(fn, *args, **kwargs), limiter=self.limiter
        )

    def remember_undo(self, user: int, ids: tuple[int, ...]) -> str:
        now = time.monotonic()
        self.undo = {k: v for k, v in self.undo.items() if now - v[2] < 600}
        token = secrets.token_urlsafe(16)
        self.undo[token] = (user, ids, now)
        return token


def article_html(html: str | None) -> Markup:
    """Stored HTML, sanitized when stored (nh3): shown as is, images lazy."""
    if not html:
        return Markup("")
    html = _IMG.sub('<img loading="lazy" decoding="async"', html)
    html = _A.sub('<a target="_blank" rel="noopener noreferrer"', html)
    return Markup(html)


def ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (datetime.now(UTC) - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            count = int(abs(seconds) // size)
            return f"{count} {unit} ago" if seconds > 0 else f"in {count} {unit}"
    return "just now"


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


async def viewer_of(request: Request) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    found = await web(request).run(web(request).library.session, token)
    if found is None:
        return None
    return Viewer(found[0], found[1], token)


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def protected(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Logged in, and for a change of state, with the session's CSRF token."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            if request.method in ("GET", "HEAD"):
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return PlainTextResponse("Log in first.", status_code=401)
        if request.method not in ("GET", "HEAD"):
            given = request.headers.get("x-csrf-token")
            if given is None:
                # The limits of the biggest form (an OPML upload): the form is parsed once.
                form = await request.form(max_files=1, max_part_size=MAX_UPLOAD)
                value = form.get("csrf")
                given = value if isinstance(value, str) else None
            if not same_token(given, viewer.csrf):
                return PlainTextResponse(
                    "Refused: this change came without the page's CSRF token.", status_code=403
                )
        return await handler(request, viewer)

    return wrapped


def page(request: Request, viewer: Viewer | None, name: str, **context: Any) -> Response:
    return web(request).templates.TemplateResponse(request, name, {"viewer": viewer, **context})


def path_id(request: Request, name: str) -> int | None:
    """A numeric id from the URL's path; None for anything else (a 404, not a 500)."""
    text = str(request.path_params[name])
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    return int(text) if re.fullmatch("[0-9]{1,18}", text) else None
