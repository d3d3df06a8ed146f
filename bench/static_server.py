"""A static file server for benchmarks: 127.0.0.1 only, ETag + Last-Modified, 304s.

Run as its own process (`python bench/static_server.py DIR PORTFILE`) so that
serving does not compete for the GIL of the process being measured.
"""

from __future__ import annotations

import email.utils
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return None
        stat = path.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        f = path.open("rb")
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.end_headers()
        return f

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops SYNs under a burst of connections, and
    # each drop costs the client a 1 s retransmit: it would measure the server.
    request_queue_size = 1024
    daemon_threads = True


def main() -> None:
    root, port_file = sys.argv[1], sys.argv[2]
    httpd = Server(("127.0.0.1", 0), partial(Handler, directory=root))
    Path(port_file).write_text(str(httpd.server_address[1]))
    httpd.serve_forever()


if __name__ == "__main__":
    main()
