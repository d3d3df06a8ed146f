"""The offline demo: sample feeds that keep publishing, served on 127.0.0.1."""

from __future__ import annotations

from rssmania._demo.samples import (
    MAX_ITEMS,
    SAMPLE_FEEDS,
    SampleFeed,
    SampleItem,
    published_count,
)
from rssmania._demo.server import DemoServer

__all__ = ["MAX_ITEMS", "SAMPLE_FEEDS", "DemoServer", "SampleFeed", "SampleItem", "published_count"]
