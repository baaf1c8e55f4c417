"""``http.ssl`` / ``http.http2`` in a config file: defaults, checks, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.config import ConfigError, load_config
from actors.config.model import Http2Config, SslConfig
from tests.config.helpers import write


def _load(tmp_path: Path, http: str):
    path = write(tmp_path, f'version: "3"\nserver: {{command: php w.php}}\nhttp:\n{http}')
    return load_config(path, environ={})


def test_tls_only_loads_without_a_plain_address(tmp_path: Path, certs: Path) -> None:
    cfg = _load(
        tmp_path,
        f"  ssl:\n    address: :8443\n    key: {certs}/server.key\n    cert: {certs}/server.pem\n"
        "    client_auth_type: no_client_certs\n",
    ).http
    assert cfg is not None
    assert cfg.address == ""
    assert cfg.ssl == SslConfig(
        address="0.0.0.0:8443",
        host="0.0.0.0",
        port=8443,
        key=f"{certs}/server.key",
        cert=f"{certs}/server.pem",
        client_auth_type="no_client_cert",  # the schema's spelling of the default is accepted
    )
    assert cfg.http2 is None


def test_ssl_address_defaults_to_roadrunners(tmp_path: Path, certs: Path) -> None:
    cfg = _load(
        tmp_path,
        f"  address: :8080\n  ssl: {{key: {certs}/server.key, cert: {certs}/server.pem}}\n",
    ).http
    assert cfg is not None and cfg.ssl is not None
    assert (cfg.ssl.address, cfg.ssl.port) == ("127.0.0.1:443", 443)


def test_http2_defaults(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path, "  address: :8080\n  http2: {h2c: true, max_concurrent_streams: 0}\n"
    ).http
    assert cfg is not None
    assert cfg.http2 == Http2Config(h2c=True, max_concurrent_streams=128)


@pytest.mark.parametrize(
    ("ssl", "key", "message"),
    [
        ("{address: ':443'}", "http.ssl.key", "http.ssl needs a key file"),
        ("{key: /nonexistent.key, cert: CERT}", "http.ssl.key",
         "'/nonexistent.key' does not exist"),
        ("{key: KEY, cert: CERT, root_ca: /no/ca.pem}", "http.ssl.root_ca", "does not exist"),
        ("{key: KEY, cert: CERT, client_auth_type: sometimes}", "http.ssl.client_auth_type",
         "expected one of no_client_cert"),
        ("{acme: {email: a@b.c, domains: [x.org]}}", "http.ssl.acme",
         "ACME (automatic certificates) is not supported"),
    ],
)  # fmt: skip
def test_bad_ssl_sections_are_refused_with_the_key_and_the_reason(
    tmp_path: Path, certs: Path, ssl: str, key: str, message: str
) -> None:
    ssl = ssl.replace("KEY", f"{certs}/server.key").replace("CERT", f"{certs}/server.pem")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f"  ssl: {ssl}\n")
    text = str(info.value)
    assert key in text
    assert message in text
    assert "http needs an address" not in text  # a broken ssl section is not "no listener"


def test_neither_address_nor_ssl_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="http needs an address"):
        _load(tmp_path, "  raw_body: true\n")
