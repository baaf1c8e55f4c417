"""The TLS fixtures (certificates, servers) are the ones of tests/http_tls."""

from tests.http_tls.conftest import certs, tls_servers

__all__ = ["certs", "tls_servers"]
