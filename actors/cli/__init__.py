"""The operator's commands beside ``serve`` (``workers``, ``reset``): RPC clients of a server."""
