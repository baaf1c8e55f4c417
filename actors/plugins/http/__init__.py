"""RoadRunner's ``http`` plugin: ``server.py`` is the HTTP/1.1 front (no worker knowledge).

Kept empty of imports on purpose: importing the package must not pull in gevent's server or
httptools for callers that only need, say, the config model.
"""
