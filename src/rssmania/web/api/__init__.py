"""The sync APIs that feed-reading apps speak: one module per protocol, each a translation
of its requests into public Library calls."""
