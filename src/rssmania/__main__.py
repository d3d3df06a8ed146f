from __future__ import annotations

from rssmania._start import main

main()
