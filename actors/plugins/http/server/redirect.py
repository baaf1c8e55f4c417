"""``http.ssl.redirect``: the plain listener sends every request to the TLS one.

Exactly RoadRunner's ``middleware.Redirect``: ``308 Permanent Redirect`` to
``https://<Host without port>[:<ssl port unless 443>]<path>?<query>`` with
``Strict-Transport-Security: max-age=31536000; includeSubDomains; preload``; Go's
``http.Redirect`` adds a short HTML body for GET and HEAD.  No request reaches a worker.
"""

from __future__ import annotations

from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["HSTS", "redirect_handler", "redirect_target", "tls_host"]

#: The HSTS value RoadRunner's redirect sends.
HSTS = "max-age=31536000; includeSubDomains; preload"


def tls_host(host: str, port: int) -> str:
    """RoadRunner's ``TLSAddr(host, false, port)``: the Host's name with the TLS port, the port
    left out when it is 443; IPv6 literals keep their brackets."""
    name = host
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if ":" in name:
        name = f"[{name}]"
    return name if port == 443 else f"{name}:{port}"


def redirect_target(request: HttpRequest, port: int) -> str:
    """Where a plain request goes: same path and query, on the TLS listener."""
    host = request.header("host") or request.host
    target = request.path.decode("latin-1")
    if not target.startswith("/"):  # absolute-form or '*': Go keeps only the URL's path
        target = "/" + target.partition("://")[2].partition("/")[2]
    uri = f"https://{tls_host(host, port)}{target}"
    if request.query:
        uri += "?" + request.query.decode("latin-1")
    return uri


def _html_escape(text: str) -> str:
    """Go's ``htmlReplacer`` (net/http), so the body is byte-for-byte RoadRunner's."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def redirect_handler(port: int) -> Handler:
    """The handler of a plain listener when ``http.ssl.redirect`` is on."""

    def redirect(request: HttpRequest, writer: Writer) -> None:
        target = redirect_target(request, port)
        headers = [("Strict-Transport-Security", HSTS), ("Location", target)]
        body = b""
        if request.method in ("GET", "HEAD"):
            headers.append(("Content-Type", "text/html; charset=utf-8"))
            body = f'<a href="{_html_escape(target)}">Permanent Redirect</a>.\n\n'.encode()
        writer.start(308, headers)
        writer.finish(body)

    return redirect
