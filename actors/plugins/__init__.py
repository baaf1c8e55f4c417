"""Plugins above the worker pool (RoadRunner's http, and later others).

Each plugin lives in its own subpackage with an actor that owns its listener and pool; the
request path inside a plugin never goes through an actor mailbox (see ARCHITECTURE.md).
"""
