"""HTML forms and file uploads, shaped the way RoadRunner hands them to PHP.

RoadRunner does not give a worker the raw ``application/x-www-form-urlencoded``
or ``multipart/form-data`` body (unless ``http.raw_body`` is on): it parses the
form, mounts every field into a JSON tree with PHP's ``a[b][]`` key rules
(``handler/parse.go``), writes each uploaded file to a temporary file and sends
the file tree in the request context (``handler/uploads.go``).  PHP frameworks
read ``$_POST``/``$_FILES`` from exactly those shapes, so this package follows
the Go code rule by rule, quirks included (see the notes on each function):

* ``urlencoded``: url-encoded bodies to ``(name, [values])``;
* ``multipart``: the multipart scanner and :func:`~.multipart.parse_multipart`;
* ``media_type``: ``Content-Type`` / ``Content-Disposition`` parameters;
* ``tree``: PHP-style keys mounted into the data and uploads trees, and their JSON;
* ``uploads``: :class:`~.uploads.FileUpload`, the temp files and PHP's error codes;
* ``parsed_form``: :class:`~.parsed_form.ParsedForm`, the result handed to the context;
* ``errors``: :class:`~.errors.FormError` (the server answers 400).

Plain CPython, no gevent: the server calls it from a connection greenlet
(parsing is CPU work on bytes already in memory; writing the temp files is the
only blocking I/O, the same disk writes RoadRunner does).  Import from the modules;
this file stays empty so that no name has two homes.
"""
