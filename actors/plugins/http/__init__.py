"""RoadRunner's ``http`` plugin: ``plugin`` (the actor and the request glue), ``server/`` (the
HTTP/1.1 front, no worker knowledge), ``context`` (the worker's request and response contexts),
``forms/`` (forms, multipart and uploads in RoadRunner's shapes).

Kept empty of imports on purpose: importing the package must not pull in gevent's server or
httptools for callers that only need, say, the config model.
"""
