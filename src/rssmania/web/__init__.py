"""The web reader (``rssmania serve``): pages over ``rssmania.Library``.

``rssmania.web.app`` makes the application; this package imports nothing, so
that the command line can reach ``rssmania.web.server`` without loading
Starlette and Jinja2 into every command (a sixth of a warm poll's start).
"""
