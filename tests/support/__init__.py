"""Helpers shared by every test folder: one copy of each.

* :mod:`tests.support.hub`: blocking calls and waits that keep the gevent hub serving
* :mod:`tests.support.procs`: real processes and ports, read from ``/proc``
* :mod:`tests.support.pools`: ActorSystems with a pool on each relay (``pool_harness``)
* :mod:`tests.support.http_servers`: ActorSystems with the http plugin (``servers``)
* :mod:`tests.support.relay_harness`: workers spawned on a bare relay (``relay_harness``)
* :mod:`tests.support.http_client`: blocking HTTP clients for end-to-end tests
* :mod:`tests.support.http_wire`: raw bytes to and from the HTTP front
* :mod:`tests.support.workers`: the fixture workers of tests/workers/ and their argv
"""
