"""HTTP/2 on the HTTP front, with the ``h2`` library (a sans-IO state machine) on gevent sockets.

One concept per module:

* ``connection``: :class:`~.connection.H2Connection`, one per client connection: its greenlet
  reads frames and feeds ``h2``; each stream's handler runs in a greenlet of its own; whoever
  has bytes to send flushes them, one ``sendall`` at a time;
* ``writer``: :class:`~.writer.StreamWriter`, the :class:`~..writer.Writer` of one stream
  (HEADERS, DATA within the peer's flow-control window, trailers, RST_STREAM);
* ``request``: how a stream's header block becomes an :class:`~..request.HttpRequest`;
* ``h2c``: HTTP/2 without TLS on the plain listener (the client's connection preface).

Import from the modules; this file stays empty so that no name has two homes.
"""
