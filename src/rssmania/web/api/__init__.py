"""The sync APIs that feed-reading apps speak: Miniflux v1, Google Reader, Fever.

Each is a list of routes over the public ``Library`` API; an entry's id is
its ``entry_id`` in every protocol. They authenticate every request with the
account's password or API tokens (no cookie, so no CSRF), and log what they
refuse (``rssmania.web.api``) so that a user can report a client we misread.
"""
