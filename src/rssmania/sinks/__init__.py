"""Where results go: the console (rich) and JSON Lines. Each sink only formats and writes."""
