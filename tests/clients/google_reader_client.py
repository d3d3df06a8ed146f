"""Drives the `google-reader` client (PyPI) for tests/test_api_greader.py.

Run by the Python 3.12 of its own virtual environment, not the tests':

    python google_reader_client.py BASE_URL USER PASSWORD < operations.json

reads a JSON list of operations (``["name", args...]``), logs in once, runs them
in order with the client's own methods and prints a JSON list of their results.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import google_reader


def run(client: Any, auth: Any, token: str, name: str, args: list[Any]) -> Any:
    if name == "user":
        return dataclasses.asdict(client.get_user_info(auth))
    if name == "subscriptions":
        return [dataclasses.asdict(s) for s in client.list_subscriptions(auth)]
    if name == "tags":
        return [dataclasses.asdict(t) for t in client.list_tags(auth)]
    if name == "ids":  # every page, following the continuation
        stream, options = args
        found: list[str] = []
        continuation = None
        while True:
            page = client.get_stream_items_ids(
                auth, stream, limit=2, continuation=continuation, **options
            )
            found += [ref.id for ref in page.item_refs]
            continuation = page.continuation
            if not continuation:
                return found
    if name == "contents":
        items = client.get_stream_items_contents(auth, token, args[0]).items
        return [dataclasses.asdict(i) for i in items]
    if name == "edit_tags":
        ids, add, remove = args
        return client.edit_tags(auth, token, ids, add_tags=add, remove_tags=remove)
    if name == "mark_all_as_read":
        return client.mark_all_as_read(auth, token, *args)
    if name == "quick_add":
        return dataclasses.asdict(client.quick_add_subscription(auth, token, args[0]))
    if name == "edit_subscription":
        stream, action, options = args
        return client.edit_subscription(auth, token, stream, action, **options)
    if name == "rename_tag":
        return client.rename_tag(auth, token, *args)
    if name == "disable_tag":
        return client.disable_tag(auth, token, *args)
    raise SystemExit(f"unknown operation {name!r}")


def main() -> None:
    base, user, password = sys.argv[1:4]
    operations = json.load(sys.stdin)
    client = google_reader.Client(base)
    auth = client.login(user, password)
    token = client.get_token(auth)
    results = [run(client, auth, token, op[0], op[1:]) for op in operations]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
