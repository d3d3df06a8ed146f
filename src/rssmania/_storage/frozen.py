"""What released migrations compute in Python, frozen as they were released.

A migration runs once per database, maybe years after it was written: if it
called live code (``rssmania._urls``), two databases migrated by two versions
would differ. So each migration's helpers are copied here on release and never
edited; yarl, which migration 4 relies on, is pinned below its next major.
"""

from __future__ import annotations

import contextlib
import getpass
import re
import socket
from urllib.parse import urljoin, urlsplit, urlunsplit

# -- migration 4 (rssmania 0.1.0 at b2d259c): feed URLs as the HTTP client sends them

_CONTROLS_4 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NUMERIC_HOST_4 = re.compile(r"[0-9][0-9a-fx.]*")
_BRACKETED_HOST_4 = re.compile(r"[^\[\]]*|\[[^\[\]]*\](?::[0-9]*)?")
_DEFAULT_PORTS_4 = {"http": 80, "https": 443}


def feed_url_4(url: str) -> str:
    """``url`` as schema 4 stores it; unchanged when it does not pass (never refused)."""
    given, url = url, url.strip()
    try:
        url.encode("utf-8")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return given
        if not _BRACKETED_HOST_4.fullmatch(parts.netloc.rpartition("@")[2]):
            return given
        port = parts.port
        if any(c.isspace() for c in url) or _CONTROLS_4.search(url) or port == 0:
            return given
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        elif _NUMERIC_HOST_4.fullmatch(host):
            with contextlib.suppress(OSError):
                host = socket.inet_ntoa(socket.inet_aton(host))
        if port is not None and port != _DEFAULT_PORTS_4[scheme]:
            host = f"{host}:{port}"
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
        path = parts.path or "/"
        if "/." in path:
            path = urlsplit(urljoin("http://h/", path.lstrip("/") or "/")).path
        from yarl import URL  # noqa: PLC0415 - only a migration needs it

        return str(URL(urlunsplit((scheme, netloc, path, parts.query, ""))))
    except ValueError:  # UnicodeError is one
        return given


def host_4(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# -- migration 5: the first user, who owns what an older database holds


def login_name_5() -> str:
    """The name of the user a database of one person's migrates into: the login name."""
    try:
        name = getpass.getuser().strip()
    except (OSError, KeyError):  # no login name in the environment or the passwd file
        name = ""
    return name if name and name.isprintable() and len(name) <= 64 else "reader"
