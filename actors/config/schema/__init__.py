"""Where every config key is validated (marshmallow schemas), one module per section:

* :mod:`~actors.config.schema.root`: ``version``, the list of top-level sections
  (supported, ignored RoadRunner ones), the pool-needs-a-command check;
* :mod:`~actors.config.schema.server`: ``server``, ``server.on_init``;
* :mod:`~actors.config.schema.pool`: ``*.pool``, its ``supervisor`` and
  ``dynamic_allocator``;
* :mod:`~actors.config.schema.http`: ``http``, ``http.uploads``, ``http.middleware``;
* :mod:`~actors.config.schema.logs`: ``logs``, ``logs.channels``;
* :mod:`~actors.config.schema.rpc`: ``rpc``;
* :mod:`~actors.config.schema.status`: ``status``;
* :mod:`~actors.config.schema.metrics`: ``metrics``, ``metrics.collect``.

The value types they share are in :mod:`~actors.config.schema.fields` (numbers,
booleans, strings, durations), :mod:`~actors.config.schema.commands` (``command``,
``env``) and :mod:`~actors.config.schema.addresses` (relay DSNs, ``host:port``);
the key checks common to all sections in :mod:`~actors.config.schema.base`; key
paths and how messages name a place in :mod:`~actors.config.schema.paths`.

The schemas see plain data (dicts, lists, scalars) that :mod:`actors.config.loader`
produced from the YAML after env expansion, includes and ``-o`` overrides; they
raise :class:`marshmallow.ValidationError` whose nested message dict mirrors the
data, which the loader maps back to ``file:line:column``.
"""

from __future__ import annotations

from actors.config.schema.paths import UNKNOWN_KEY, LoadState, Path, dotted
from actors.config.schema.root import load_pool, load_root

__all__ = ["UNKNOWN_KEY", "LoadState", "Path", "dotted", "load_pool", "load_root"]
