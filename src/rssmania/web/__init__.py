"""The web reader (``rssmania serve``): pages over ``rssmania.Library``."""

from __future__ import annotations

from rssmania.web.app import make_app

__all__ = ["make_app"]
