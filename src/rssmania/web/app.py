"""The web reader's application: routes, middleware, static files.

    request -> SecurityHeaders -> TrustedHost (DNS rebinding) -> route
            -> protected(): session cookie -> user; CSRF token on every change
            -> handler: parse, Library call on a bounded thread pool, render

``make_app`` takes a ``Library``: the app calls the public read API only,
never the poller's internals or SQL (a test enforces it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from anyio import CapacityLimiter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rssmania import Library, StorageError
from rssmania.web import auth, live, manage, reading
from rssmania.web.api import fever, greader, miniflux
from rssmania.web.api.cors import ApiCors
from rssmania.web.context import Web
from rssmania.web.security import SecurityHeaders, SingleSlashes

STATIC = Path(__file__).parent / "static"

log = logging.getLogger("rssmania.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def make_app(
    library: Library,
    *,
    user_agent: str,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    refuse_private: bool = False,
    threads: int = 16,
) -> Starlette:
    """The web reader over ``library``.

    ``allowed_hosts`` are the names the browser may use for this server
    (the Host header): a page elsewhere cannot reach a reader on 127.0.0.1
    by pointing its own name there (DNS rebinding). ``refuse_private``
    is for adding feeds: a user's URL never reaches the server's network.
    """

    async def manifest(request: Request) -> Response:
        return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json")

    routes = [
        Route("/", reading.index),
        Route("/more", reading.more),
        Route("/entries/{entry_id}/open", reading.open_entry, methods=["POST"]),
        Route("/entries/{entry_id}/{what}", reading.set_state, methods=["POST"]),
        Route("/mark-read", reading.mark_view_read, methods=["POST"]),
        Route("/mark-ids-read", reading.mark_ids_read, methods=["POST"]),
        Route("/undo/{token}", reading.undo, methods=["POST"]),
        Route("/login", auth.login_form, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/feeds", manage.feeds_page, methods=["GET"]),
        Route("/feeds", manage.add_feed, methods=["POST"]),
        Route("/feeds/export.opml", manage.export_opml),
        Route("/feeds/import", manage.import_opml, methods=["POST"]),
        Route("/feeds/{feed_id}", manage.change_feed, methods=["POST"]),
        Route("/health", manage.health),
        Route("/health/bulk", manage.bulk, methods=["POST"]),
        Route("/events", live.events),
        Route("/manifest.webmanifest", manifest),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *miniflux.routes(),
        *fever.routes(),
        *greader.routes(),
    ]

    async def storage_failed(request: Request, exc: Exception) -> Response:
        # The database is unusable or locked past the wait: said, not a bare 500.
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return PlainTextResponse(f"The reader cannot use its database now: {exc}", status_code=503)

    app = Starlette(
        exception_handlers={StorageError: storage_failed},
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SingleSlashes),
            Middleware(ApiCors),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        ],
    )
    app.state.web = Web(
        library=library,
        user_agent=user_agent,
        refuse_private=refuse_private,
        limiter=CapacityLimiter(threads),
    )
    return app
