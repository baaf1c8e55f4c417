"""The request context Greenrunner sends to an http worker, and the response context it reads.

Greenrunner speaks RoadRunner's *legacy JSON* context (RR <= 2023.3, frame
flags ``CODEC_JSON``): every ``spiral/roadrunner-http`` release understands
it (3.5+ sniffs JSON vs protobuf on the first request, older ones only know
JSON), while the protobuf context of RR >= 2024.1 would shut out PHP stacks
pinned to 3.4 and older.  Standard library only (orjson when installed); no gevent needed.

* ``request``: :func:`~.request.build_request_context`, the JSON request context;
* ``body``: :func:`~.body.prepare_body`, the frame body chosen by content type (forms parsed);
* ``response``: :func:`~.response.parse_response_context`, the worker's status and headers;
* ``cookies``: :func:`~.cookies.parse_cookies`; ``header_keys``: Go's canonical header names;
* ``json_codec``: JSON bytes as Go writes them.

Import from the modules; this file stays empty so that no name has two homes.
"""
