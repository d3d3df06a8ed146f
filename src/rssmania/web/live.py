"""Live pages: server-sent events fed by the change log, so that they work when the
poller is another process. A page says the seq it was drawn at; every two seconds
the stream tells it how many new unread articles came since, and the poll's progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rssmania.web.context import Viewer, protected, web

EVERY = 2.0


@protected
async def events(request: Request, viewer: Viewer) -> Response:
    w = web(request)
    text = request.query_params.get("since", "0")
    since = int(text) if text.isdigit() and len(text) < 19 else 0

    async def stream() -> AsyncIterator[bytes]:
        told: tuple[int, dict[str, object] | None] = (-1, None)
        yield b"retry: 5000\n\n"
        while not await request.is_disconnected():
            new, _ = await w.run(w.library.new_since, viewer.user.id, since)
            progress = await w.run(w.library.poll_progress)
            if (new, progress) != told:
                told = (new, progress)
                yield b"event: new\ndata: " + orjson.dumps({"count": new}) + b"\n\n"
                if progress is not None:
                    yield b"event: progress\ndata: " + orjson.dumps(progress) + b"\n\n"
            else:
                yield b": still here\n\n"  # a comment: proxies keep the stream open
            await asyncio.sleep(EVERY)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
