from __future__ import annotations

from rssmania.cli import main

main()
