"""A plain HTTP client for the Google Reader API tests: urllib, nothing hidden."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode

Pairs = list[tuple[str, str]] | dict[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str,
    path: str,
    *,
    query: Pairs | None = None,
    form: Pairs | None = None,
    auth: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """GET ``base + path`` (POST when a form is given); any status is an Answer."""
    url = base.rstrip("/") + path
    if query:
        url += "?" + urlencode(query)
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth is not None:
        request.add_header("Authorization", f"GoogleLogin auth={auth}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


def login(base: str, name: str, password: str) -> str:
    answer = call(base, "/accounts/ClientLogin", form={"Email": name, "Passwd": password})
    assert answer.status == 200, answer.text
    lines = dict(line.split("=", 1) for line in answer.text.split())
    return lines["Auth"]
