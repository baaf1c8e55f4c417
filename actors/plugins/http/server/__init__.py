"""The HTTP/1.1 front: a gevent ``StreamServer`` driving the ``httptools`` (llhttp) parser.

Why not ``gevent.pywsgi``: on this machine type pywsgi answers 724 req/s to keep-alive clients
(headers and body leave in two ``send`` calls and meet Nagle + delayed ACK) and about 4.4k req/s
with ``TCP_NODELAY``; a ``StreamServer`` with the C parser answered 13-17k req/s
(the wire rules in ``docs/protocol.md``).  So this package owns the wire format itself,
one concept per module:

* ``listener``: :class:`~.listener.HttpServer` accepts connections (``TCP_NODELAY`` on each)
  and stops them gracefully; the :data:`~.listener.Handler` type;
* ``connection``: where a request waits: one greenlet per connection reads, serves keep-alive
  and pipelined requests in order, watches for a peer that goes away, and sends;
* ``request_parser``: where a request is parsed: llhttp callbacks, limits (400, 413, 431, 417,
  505 answered like Go's ``net/http``, never reaching the handler);
* ``request``: :class:`~.request.HttpRequest`, what the handler receives;
* ``response``: where a response is written: :class:`~.response.ResponseWriter` frames it
  (one ``sendall`` for a whole response; chunked, length or close-delimited for a stream);
* ``response_head``: header lines, the ``Date`` line, canned error responses;
* ``header_names``: the bounded caches of header names; ``status``: Go's reason phrases;
* ``writer``: the :class:`~.writer.Writer` protocol every front implements;
* ``tls``: the TLS context, handshake and HTTP/1.1 over TLS; ``redirect``: ``ssl.redirect``;
* ``h2/``: HTTP/2 (over TLS by ALPN, or h2c), each stream through the same handler.

It knows nothing about workers: ``actors/plugins/http/plugin.py`` passes a handler.  Import from
the modules (``from actors.plugins.http.server.listener import HttpServer``); this file stays
empty so that no name has two homes.
"""
