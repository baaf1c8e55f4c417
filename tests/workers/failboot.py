"""Fails while booting: a traceback on stderr and exit status 1, before any frame."""

raise RuntimeError("failboot: this worker is broken on purpose")
