"""``http.ssl.client_auth_type`` with real client certificates: accepted and refused.

``client`` is signed by the configured ``root_ca``; ``stranger`` by another CA.  As in
RoadRunner, the mode applies only with a ``root_ca``.  With TLS 1.3 a client finishes its
handshake before the server checks its certificate, so a refusal shows up as an alert (an
``SSLError``) or a close on the client's first read: either way no HTTP answer.
"""

from __future__ import annotations

import ssl

import pytest

from tests.support.hub import call
from tests.support.tls import TlsServers, client_context, https_get, tls_address

OK, REFUSED = "ok", "refused"


def _outcome(addr: tuple[str, int], ctx: ssl.SSLContext) -> str:
    try:
        status, _, _ = https_get(addr, "/pid", ctx)
    except (ssl.SSLError, ConnectionError, OSError):
        return REFUSED
    assert status == 200
    return OK


# mode -> outcome for (no certificate, a certificate of root_ca, a certificate of another CA)
CASES = {
    "no_client_cert": (OK, OK, OK),
    "verify_client_cert_if_given": (OK, OK, REFUSED),
    "require_and_verify_client_cert": (REFUSED, OK, REFUSED),
    # Go accepts an unverified certificate in these two; Python's ssl cannot (no verify
    # callback), so a certificate that does not chain to root_ca is refused (documented).
    "request_client_cert": (OK, OK, REFUSED),
    "require_any_client_cert": (REFUSED, OK, REFUSED),
}


@pytest.mark.parametrize("mode", sorted(CASES))
def test_client_auth_type(tls_servers: TlsServers, certs, mode: str):
    ssl_cfg = tls_servers.ssl(root_ca=str(certs / "ca.pem"), client_auth_type=mode)
    server = tls_servers(http={"ssl": ssl_cfg}, pool={"num_workers": 1})
    addr = tls_address(server)
    got = tuple(
        call(_outcome, addr, client_context(certs, cert)) for cert in (None, "client", "stranger")
    )
    assert got == CASES[mode]


def test_without_root_ca_no_certificate_is_asked_for(tls_servers: TlsServers, certs):
    """RoadRunner applies client_auth_type only together with root_ca."""
    ssl_cfg = tls_servers.ssl(client_auth_type="require_and_verify_client_cert")
    server = tls_servers(http={"ssl": ssl_cfg}, pool={"num_workers": 1})
    assert call(_outcome, tls_address(server), client_context(certs)) == OK


def test_the_worker_sees_no_certificate_field_as_in_roadrunner(tls_servers: TlsServers, certs):
    import json

    ssl_cfg = tls_servers.ssl(
        root_ca=str(certs / "ca.pem"), client_auth_type="require_and_verify_client_cert"
    )
    server = tls_servers(http={"ssl": ssl_cfg}, pool={"num_workers": 1})
    addr = tls_address(server)
    _, _, body = call(https_get, addr, "/echo", client_context(certs, "client"))
    echo = json.loads(body)
    assert echo["uri"].startswith("https://")
    assert "alice" not in body.decode()  # the subject is not passed: RR passes nothing either
