"""The command line: ``rssmania [--db PATH] COMMAND``."""

from __future__ import annotations

from rssmania.cli import feeds, polling, reader, reading, serve, users
from rssmania.cli._app import cli, main

__all__ = ["cli", "feeds", "main", "polling", "reader", "reading", "serve", "users"]
