"""The request object a handler receives: parsed, body included, bytes kept as received."""

from __future__ import annotations

__all__ = ["HttpRequest"]


class HttpRequest:
    """One complete request (body included), as the handler receives it.

    Header names and values are latin-1 decoded, i.e. every ``str`` here carries the exact bytes
    received; nothing is canonicalised or merged, the plugin glue decides what RoadRunner does.
    """

    __slots__ = (
        "body",
        "headers",
        "host",
        "keep_alive",
        "method",
        "path",
        "query",
        "remote_addr",
        "scheme",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: bytes,
        path: bytes,
        query: bytes,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
        remote_addr: tuple[str, int],
        keep_alive: bool,
        host: str,
        scheme: str = "http",
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.remote_addr = remote_addr
        self.keep_alive = keep_alive
        self.host = host
        #: ``https`` over TLS: the worker's URI carries it, as RoadRunner's ``URI()`` does.
        self.scheme = scheme

    def header(self, name: str, default: str | None = None) -> str | None:
        """First value of header ``name`` (case-insensitive), for the rare caller that needs one."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def __repr__(self) -> str:
        return f"<HttpRequest {self.method} {self.target!r} {self.version}>"
