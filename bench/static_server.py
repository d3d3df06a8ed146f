"""A static file server for benchmarks: loopback only, ETag + Last-Modified, 304s, counters.

    python bench/static_server.py DIR PORTFILE [HOSTS]

Serves DIR on 127.0.0.1, 127.0.0.2, ... (HOSTS addresses, default 1), each on
its own port; writes "address port" lines to PORTFILE. GET /__stats answers
the counters as JSON (requests, 200s, 304s, body bytes) and resets them.
Runs as its own process so that serving does not compete for the GIL of the
process being measured.
"""

from __future__ import annotations

import email.utils
import json
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STATS = {"requests": 0, "200": 0, "304": 0, "bytes": 0}
LOCK = threading.Lock()


def count(status: int, size: int) -> None:
    with LOCK:
        STATS["requests"] += 1
        STATS[str(status)] = STATS.get(str(status), 0) + 1
        STATS["bytes"] += size


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_head(self):  # type: ignore[no-untyped-def]
        if self.path == "/__stats":
            with LOCK:
                body = json.dumps(STATS).encode()
                for key in STATS:
                    STATS[key] = 0
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            count(404, 0)
            self.send_error(404)
            return None
        stat = path.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if self.headers.get("If-None-Match") == etag:
            count(304, 0)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        count(200, stat.st_size)
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
    hosts = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    # 127.0.0.1, ..., 127.0.0.250, 127.0.1.1, ...: every one a loopback address.
    addresses = [f"127.0.{i // 250}.{i % 250 + 1}" for i in range(hosts)]
    servers = [Server((address, 0), partial(Handler, directory=root)) for address in addresses]
    for httpd in servers[1:]:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    lines = [f"{s.server_address[0]} {s.server_address[1]}" for s in servers]
    Path(port_file).write_text("\n".join(lines) + "\n")
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
