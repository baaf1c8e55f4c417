"""The one error of form parsing: the body cannot become RoadRunner's trees (a 400)."""

from __future__ import annotations

__all__ = ["FormError"]


class FormError(ValueError):
    """The form cannot be turned into a tree; the server answers 400.

    RoadRunner v5 answered 500 ``serve_http: <error>`` and v6 answers 400;
    either way the message text is RoadRunner's, so logs keep matching.
    """
