"""Request context bytes, header names, cookies, body choice and response decoding."""

from __future__ import annotations

import json

import pytest

from actors.plugins.http.context import header_keys
from actors.plugins.http.context.body import prepare_body
from actors.plugins.http.context.cookies import parse_cookies
from actors.plugins.http.context.header_keys import canonical_header_key
from actors.plugins.http.context.request import absolute_uri, build_request_context, strip_port
from actors.plugins.http.context.response import (
    NO_STATUS,
    ResponseContextError,
    UnknownStatusError,
)
from actors.plugins.http.context.response import (
    parse_response_context as _parse_response_context,
)
from relays.frame import CODEC_JSON, CODEC_PROTO

# http.v1 protobuf vectors, generated with python-protobuf from RoadRunner's schema
PROTO_200 = bytes.fromhex("08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e")
PROTO_404 = bytes.fromhex("089403")


def parse_response_context(flags: int, ctx: bytes) -> tuple[int, list[tuple[str, str]]]:
    """The decoded context with headers as a list (the real one returns a cached tuple)."""
    status, headers = _parse_response_context(flags, ctx)
    return status, list(headers)


def test_context_exact_bytes() -> None:
    ctx = build_request_context(
        remote_addr="127.0.0.1:5555",
        protocol="HTTP/1.1",
        method="GET",
        uri="/?a=1",
        headers=[(b"Host", b"localhost:8080"), (b"user-agent", b"curl/8.0")],
    )
    assert ctx == (
        b'{"remoteAddr":"127.0.0.1","protocol":"HTTP/1.1","method":"GET",'
        b'"uri":"http://localhost:8080/?a=1","headers":{"User-Agent":["curl/8.0"]},'
        b'"cookies":{},"rawQuery":"a=1","parsed":false,"uploads":null,"attributes":{}}'
    )


def test_context_headers_grouped_sorted_and_filtered() -> None:
    ctx = json.loads(
        build_request_context(
            remote_addr="[::1]:40000",
            protocol="HTTP/1.1",
            method="POST",
            uri="/p",
            headers=[
                ("x-b", "1"),
                ("HOST", "example.org"),
                ("transfer-encoding", "chunked"),
                ("X-B", "2"),
                ("accept", "*/*"),
                ("cookie", "s=1"),
                ("cookie", "t=2"),
            ],
            parsed=True,
            uploads={},
            attributes={"k": ["v"]},
            scheme="https",
        )
    )
    assert list(ctx) == [
        "remoteAddr",
        "protocol",
        "method",
        "uri",
        "headers",
        "cookies",
        "rawQuery",
        "parsed",
        "uploads",
        "attributes",
    ]
    assert ctx["remoteAddr"] == "::1"
    assert ctx["uri"] == "https://example.org/p"
    assert list(ctx["headers"]) == ["Accept", "Cookie", "X-B"]
    assert ctx["headers"]["X-B"] == ["1", "2"]
    assert ctx["headers"]["Cookie"] == ["s=1", "t=2"]
    assert ctx["cookies"] == {"s": "1", "t": "2"}
    assert ctx["rawQuery"] == ""
    assert ctx["parsed"] is True
    assert ctx["uploads"] == {}
    assert ctx["attributes"] == {"k": ["v"]}


def test_context_non_utf8_header_bytes_become_replacement_char() -> None:
    ctx = build_request_context(
        remote_addr="10.0.0.1",
        protocol="HTTP/1.0",
        method="GET",
        uri="/",
        headers=[(b"X-Raw", b"caf\xe9")],
    )
    assert json.loads(ctx)["headers"]["X-Raw"] == ["caf\ufffd"]
    assert json.loads(ctx)["uri"] == "http:///"  # no Host header: Go's r.Host is empty


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("content-type", "Content-Type"),
        ("CONTENT-TYPE", "Content-Type"),
        ("x-forwarded-for", "X-Forwarded-For"),
        ("x-b3-traceid", "X-B3-Traceid"),
        ("www-authenticate", "Www-Authenticate"),
        ("a", "A"),
        ("x--y", "X--Y"),
        ("foo_bar", "Foo_bar"),
        ("bad header", "bad header"),  # invalid names are left alone, as in Go
        ("", ""),
    ],
)
def test_canonical_header_key(raw: str, canonical: str) -> None:
    assert canonical_header_key(raw) == canonical


def test_cookies() -> None:
    assert parse_cookies(['a=1; b="quoted"; c=x%20y+z; bad=%zz; d=; =novalue; e f=1']) == {
        "a": "1",
        "b": "quoted",
        "c": "x y z",
        "d": "",
    }
    # invalid value bytes drop the cookie; later duplicates win
    assert parse_cookies(['x=a"b; y=1', "y=2; z=caf\u00e9"]) == {"y": "2"}
    assert parse_cookies(["u=%C3%A9"]) == {"u": "\u00e9"}


def test_strip_port_and_uri() -> None:
    assert strip_port("127.0.0.1:5555") == "127.0.0.1"
    assert strip_port("[fe80::1]:80") == "fe80::1"
    assert strip_port("::1") == "::1"
    assert strip_port("10.1.2.3") == "10.1.2.3"
    assert absolute_uri("h:1", "/a\r\nb?q") == "http://h:1/ab?q"
    assert absolute_uri("ignored", "http://proxy.example/x") == "http://proxy.example/x"


def test_prepare_body_by_content_type() -> None:
    form = b"x=1&arr[]=a&arr[]=b&u[name]=z"
    ct = "application/x-www-form-urlencoded"
    assert prepare_body("HEAD", ct, form).body == b""
    assert prepare_body("OPTIONS", ct, form).parsed is False
    p = prepare_body("POST", ct + "; charset=UTF-8", form)
    assert (p.body, p.parsed, p.uploads) == (
        b'{"arr":["a","b"],"u":{"name":"z"},"x":"1"}',
        True,
        None,
    )
    assert prepare_body("POST", ct, b"").body == b"{}"
    # Go's ParseForm reads bodies of POST, PUT and PATCH only
    assert (prepare_body("DELETE", ct, form).body, prepare_body("DELETE", ct, form).parsed) == (
        b"{}",
        True,
    )
    raw = prepare_body("POST", ct, form, raw_body=True)
    assert (raw.body, raw.parsed) == (form, False)
    js = prepare_body("POST", "application/json", b'{"a":1}')
    assert (js.body, js.parsed) == (b'{"a":1}', False)
    assert prepare_body("GET", None, b"").body == b""


def test_prepare_body_conflict_is_a_form_error() -> None:
    from actors.plugins.http.forms.errors import FormError

    with pytest.raises(FormError, match=r"invalid multiple values to key 'a' in tree"):
        prepare_body("POST", "application/x-www-form-urlencoded", b"a=1&a[b]=2")


def test_proto_response_vectors() -> None:
    assert parse_response_context(CODEC_PROTO, PROTO_200) == (
        200,
        [("Content-Type", "text/plain")],
    )
    assert parse_response_context(CODEC_PROTO, PROTO_404) == (404, [])


def test_proto_response_multi_values_and_unknown_fields() -> None:
    # status 201, unknown field 7 (varint), header set-cookie: [a, b]
    def ld(num: int, data: bytes) -> bytes:
        return bytes([(num << 3) | 2, len(data)]) + data

    hv = ld(1, b"a=1") + ld(1, b"b=2")
    msg = b"\x08\xc9\x01" + b"\x38\x05" + ld(2, ld(1, b"set-cookie") + ld(2, hv))
    assert parse_response_context(CODEC_PROTO, msg) == (
        201,
        [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    with pytest.raises(ResponseContextError):
        parse_response_context(CODEC_PROTO, b"\x08")  # truncated varint
    with pytest.raises(ResponseContextError):
        parse_response_context(CODEC_PROTO, b"\x12\x05ab")  # truncated field


def test_json_response() -> None:
    ctx = b'{"status":302,"headers":{"location":["\\/next"],"X-Multi":["1","2"]}}'
    for flags in (0, CODEC_JSON):
        assert parse_response_context(flags, ctx) == (
            302,
            [("Location", "/next"), ("X-Multi", "1"), ("X-Multi", "2")],
        )
    # PHP sends [] for an empty header array; a bare string value is accepted
    assert parse_response_context(CODEC_JSON, b'{"status":204,"headers":[]}') == (204, [])
    assert parse_response_context(0, b'{"status":200,"headers":{"A":"b"}}') == (
        200,
        [("A", "b")],
    )
    # a JSON context is recognised even with the proto flag set
    assert parse_response_context(CODEC_PROTO, b'{"status":200}') == (200, [])


def test_response_header_sanitising() -> None:
    status, headers = parse_response_context(
        CODEC_JSON,
        b'{"status":200,"headers":{"X-Evil":["a\\r\\nSet-Cookie: x=1"],'
        b'"bad name":["dropped"],"X-N":[1,"kept"]}}',
    )
    assert status == 200
    assert headers == [("X-Evil", "a  Set-Cookie: x=1"), ("X-N", "kept")]


@pytest.mark.parametrize("status", [0, 99, 600, 1000, -1])
def test_bad_status(status: int) -> None:
    with pytest.raises(UnknownStatusError, match=f"^unknown status code from worker: {status}$"):
        parse_response_context(CODEC_JSON, json.dumps({"status": status}).encode())


def test_bad_status_proto_negative() -> None:
    neg = b"\x08" + b"\xff" * 9 + b"\x01"  # int64 -1
    with pytest.raises(UnknownStatusError, match="unknown status code from worker: -1"):
        parse_response_context(CODEC_PROTO, neg)


@pytest.mark.parametrize(
    "junk",
    [
        b"{not json",
        b"[1,2]",
        b'{"status":"200"}',
        b'{"status":200,"headers":5}',
        b"hello",
        b'{"status":true}',
    ],
)
def test_junk_context(junk: bytes) -> None:
    with pytest.raises(ResponseContextError):
        parse_response_context(CODEC_JSON, junk)


def test_empty_context_means_body_only() -> None:
    assert parse_response_context(0, b"") == (NO_STATUS, [])
    assert parse_response_context(CODEC_PROTO, b"") == (NO_STATUS, [])


@pytest.mark.slow
def test_canonical_name_cache_does_not_keep_what_clients_send() -> None:
    """Request header names come from clients: long unique ones must not be kept."""
    for i in range(300):
        header_keys.canonical_header_key(f"x-{i:05d}-" + "n" * 20_000)
    assert sum(len(name) for name in header_keys._canonical_cache) < 1 << 20
    assert header_keys.canonical_header_key("content-type") == "Content-Type"
    assert "content-type" in header_keys._canonical_cache


def test_a_repeated_header_section_gives_the_same_context_as_a_fresh_one() -> None:
    """The header section is worked out once per distinct section; what varies per request
    (target, query, address, the caller's cookies) must still come from each call."""
    import json

    from actors.plugins.http.context import request as request_module

    headers = [("host", "a.test"), ("cookie", "x=1; y=2"), ("x-b", "1"), ("X-A", "2")]

    def ctx(uri: str, headers_in: object, **kw: object) -> dict[str, object]:
        return json.loads(
            build_request_context(
                remote_addr="10.0.0.1",
                protocol="HTTP/1.1",
                method="GET",
                uri=uri,
                headers=headers_in,  # type: ignore[arg-type]
                **kw,  # type: ignore[arg-type]
            )
        )

    request_module._FIELDS_CACHE.clear()
    first = ctx("/one?q=1", headers)
    assert len(request_module._FIELDS_CACHE) == 1
    second = ctx("/two?r=2", iter(headers))  # an iterator, as a caller may pass
    assert first["uri"] == "http://a.test/one?q=1" and second["uri"] == "http://a.test/two?r=2"
    assert second["rawQuery"] == "r=2"
    assert (
        first["headers"]
        == second["headers"]
        == {"Cookie": ["x=1; y=2"], "X-A": ["2"], "X-B": ["1"]}
    )
    assert first["cookies"] == second["cookies"] == {"x": "1", "y": "2"}
    # Cookies given by the caller win over the cached ones, and do not change them.
    assert ctx("/", headers, cookies={"z": "3"})["cookies"] == {"z": "3"}
    assert ctx("/", headers)["cookies"] == {"x": "1", "y": "2"}
    request_module._FIELDS_CACHE.clear()
    assert ctx("/one?q=1", headers) == first


@pytest.mark.parametrize(
    ("addr", "method", "target", "query", "headers", "scheme"),
    [
        ("127.0.0.1", "GET", "/", "", [("Host", "a.test")], "http"),
        ("::1", "POST", "/p?x=1&y=%C3%A9", "x=1&y=%C3%A9", [("host", "[::1]:8080")], "https"),
        (
            "10.0.0.7",
            "PUT",
            '/q"uote\\',
            "",
            [
                ("Host", "h"),
                ("cookie", 'a=1; b="q"; c=%20'),
                ("X-Multi", "1"),
                ("x-multi", "2"),
                ("Transfer-Encoding", "chunked"),
                ("X-Utf8", "\xc3\xa9"),  # the UTF-8 bytes of é, as the server hands them over
                ("X-Bad", "\xff"),  # not UTF-8: U+FFFD, as Go's encoder writes it
                ("X-Ctl", "\x7f\t<>&\xe2\x80\xa8"),  # U+2028 in UTF-8
            ],
            "http",
        ),
        ("1.2.3.4", "GET", "http://proxy.test/abs?q", "q", [], "http"),
        ("5.6.7.8", "BREW", "*", "", [("Host", "")], "http"),
        ("5.6.7.8", "GET", "/x", "", [("Host", "a\r\nb")], "http"),  # CR/LF never in a URI
    ],
)
def test_the_plain_context_is_byte_for_byte_the_general_one(
    addr: str, method: str, target: str, query: str, headers: list[tuple[str, str]], scheme: str
) -> None:
    """The HTTP plugin encodes a request without a form from cached fragments
    (``encode_plain_context``); the worker must receive exactly the bytes the general encoder
    gives, first sight of a section or not."""
    from actors.plugins.http.context import request as request_module

    general = build_request_context(
        remote_addr=addr,
        protocol="HTTP/1.1",
        method=method,
        uri=target,
        headers=request_module.wire_text(headers),
        raw_query=query,
        scheme=scheme,
    )
    request_module._SECTIONS.clear()
    for _ in range(2):  # the first sight of the section, then the cached one
        section = request_module.wire_header_section(headers)
        plain = request_module.encode_plain_context(
            section, addr, "HTTP/1.1", method, target, query, scheme
        )
        assert plain == general
