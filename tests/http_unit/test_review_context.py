"""Review findings on actors/plugins/http/context/."""

from __future__ import annotations

from actors.plugins.http.context import header_keys as context


def test_canonical_name_cache_does_not_keep_what_clients_send() -> None:
    """Request header names come from clients: long unique ones must not be kept."""
    for i in range(300):
        context.canonical_header_key(f"x-{i:05d}-" + "n" * 20_000)
    assert sum(len(name) for name in context._canonical_cache) < 1 << 20
    assert context.canonical_header_key("content-type") == "Content-Type"
    assert "content-type" in context._canonical_cache
