"""Form tree rules (PHP-style keys), multipart parsing and uploads on real bytes and real files."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from actors.plugins.http.context.body import prepare_body
from actors.plugins.http.context.request import build_request_context
from actors.plugins.http.forms.errors import FormError
from actors.plugins.http.forms.media_type import parse_media_type
from actors.plugins.http.forms.multipart import iter_multipart, parse_multipart
from actors.plugins.http.forms.tree import (
    MAX_LEVEL,
    build_file_tree,
    build_tree,
    split_key,
    tree_to_json,
)
from actors.plugins.http.forms.uploads import FileUpload, file_extension
from actors.plugins.http.forms.urlencoded import parse_urlencoded


def tree(body: bytes) -> bytes:
    return tree_to_json(build_tree(parse_urlencoded(body)))


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("a", ["a"]),
        ("a[b][c]", ["a", "b", "c"]),
        ("a[]", ["a", ""]),
        ("a [ b ] [ ]", ["a", "b", ""]),
        ("a[b]c", ["a", "b", "c"]),
        ("a[][b]", ["a", "", "b"]),
        ("[x]", ["", "x"]),
        ("", [""]),
        ("a[b", ["a", "b"]),
    ],
)
def test_split_key(name: str, keys: list[str]) -> None:
    assert split_key(name) == keys


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"x=1&arr[]=a&arr[]=b&u[name]=z", b'{"arr":["a","b"],"u":{"name":"z"},"x":"1"}'),
        (b"name=1&name=2", b'{"name":"2"}'),
        (b"a[][b]=1", b'{"a":{"":{"b":"1"}}}'),
        (b"a[b][c]=1&a[b][d]=2&a[e]=3", b'{"a":{"b":{"c":"1","d":"2"},"e":"3"}}'),
        (b"a=&a[b]=1", b'{"a":{"b":"1"}}'),  # an empty leaf is replaced by an object
        (b"a[b]=1&a=", b'{"a":{"b":"1"}}'),  # an empty value never overwrites data
        (b"k=v&k=", b'{"k":""}'),  # same key: the last value of the group
        (b"l[]=&l[]=", b'{"l":["",""]}'),
        # spaces in keys are dropped, "+" in values is a space
        (b"sp+ace=a+b&pct=%C3%A9%26", b'{"pct":"\xc3\xa9&","space":"a b"}'),
        (b"flag&z=", b'{"flag":"","z":""}'),
        (b"", b"{}"),
        (b"a=1&a[]=2", b'{"a":["2"]}'),
    ],
)
def test_form_tree(body: bytes, expected: bytes) -> None:
    assert tree(body) == expected


@pytest.mark.parametrize("body", [b"a=1&a[b]=2", b"a[b]=2&a=1", b"a[b]=1&a[b][c]=2"])
def test_form_tree_conflict(body: bytes) -> None:
    key = "b" if body.startswith(b"a[b]=1&a[b][c]") else "a"
    with pytest.raises(FormError) as info:
        tree(body)
    assert str(info.value) == f"invalid multiple values to key '{key}' in tree"


def test_too_deep_key_is_dropped() -> None:
    deep = "d" + "[x]" * (MAX_LEVEL - 1)
    deeper = "e" + "[x]" * MAX_LEVEL
    result = build_tree([(deep, ["1"]), (deeper, ["2"])])
    assert "d" in result and "e" not in result


def test_file_tree_shapes() -> None:
    def f(n: str) -> FileUpload:
        return FileUpload(name=n, mime="text/plain")

    t = build_file_tree(
        [
            ("file", [f("one"), f("two")]),
            ("files[]", [f("a"), f("b")]),
            ("doc[a]", [f("x")]),
            ("doc[b]", [f("y")]),
            ("deep[x][]", [f("z")]),
        ]
    )
    js = json.loads(tree_to_json(t))
    leaf = {"name": "one", "mime": "text/plain", "size": 0, "error": 0, "tmpName": ""}
    assert js["file"] == leaf  # a plain key with several files keeps the first
    assert [x["name"] for x in js["files"]] == ["a", "b"]
    assert set(js["doc"]) == {"a", "b"}
    assert js["deep"]["x"][0]["name"] == "z"
    # leaf keys keep Go's field order while maps are sorted
    assert tree_to_json(t).startswith(b'{"deep":{"x":[{"name":"z","mime":"text/plain","size":0,')


def test_media_type_params() -> None:
    assert parse_media_type('form-data; name="a;b"; filename="C:\\dir\\f.txt"') == (
        "form-data",
        {"name": "a;b", "filename": "C:\\dir\\f.txt"},
    )
    assert parse_media_type(
        "attachment; filename=plain.txt; filename*=UTF-8''%E2%82%AC%20rates.txt"
    ) == ("attachment", {"filename": "\u20ac rates.txt"})
    assert parse_media_type('multipart/form-data; boundary="x y"') == (
        "multipart/form-data",
        {"boundary": "x y"},
    )
    assert parse_media_type("Text/Plain") == ("text/plain", {})
    assert parse_media_type('a; name="q\\"uote"')[1] == {"name": 'q"uote'}
    # RFC 2231 continuations, extended and plain
    assert parse_media_type(
        "form-data; name=f; filename*0*=UTF-8''%E2%82%AC; filename*1=\".t%xt\""
    )[1] == {"name": "f", "filename": "\u20ac.t%xt"}
    assert parse_media_type('form-data; name=f; filename*0="a"; filename*1="b c"')[1] == {
        "name": "f",
        "filename": "ab c",
    }


def test_file_extension() -> None:
    assert file_extension("a.PHP") == ".PHP"
    assert file_extension(".htaccess") == ".htaccess"
    assert file_extension("noext") == ""
    assert file_extension("dir.d/noext") == ""
    assert file_extension("x.tar.gz") == ".gz"


# ---------------------------------------------------------------- multipart

B = "----gr-boundary-7MA4YWxkTrZu0gW"
PNG = bytes(range(256)) * 4 + b"\r\n--" + B.encode()[:-1] + b"\r\n\r\n\x00\xff"
TXT = b"line1\r\nline2\n\r\n--not-the-boundary\r\n"


def multipart(
    parts: list[tuple[str, str | None, str | None, bytes]],
    boundary: str = B,
    preamble: bytes = b"",
    nl: bytes = b"\r\n",
) -> bytes:
    out = [preamble]
    for name, filename, ctype, content in parts:
        out.append(b"--" + boundary.encode() + nl)
        disp = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out.append(disp.encode() + nl)
        if ctype:
            out.append(f"Content-Type: {ctype}".encode() + nl)
        out.append(nl + content + nl)
    out.append(b"--" + boundary.encode() + b"--" + nl)
    return b"".join(out)


CT = f"multipart/form-data; boundary={B}"


def test_multipart_two_files_and_fields(tmp_path: Path) -> None:
    body = multipart(
        [
            ("title", None, None, "h\u00e9llo".encode()),
            ("tags[]", None, None, b"a"),
            ("tags[]", None, None, b"b"),
            ("upload[img]", "pic.PNG", "image/png", PNG),
            ("upload[txt]", "../../etc/notes.txt", "text/plain", TXT),
        ]
    )
    form = parse_multipart(body, CT, uploads_dir=str(tmp_path))
    try:
        assert form.data == {"title": "h\u00e9llo", "tags": ["a", "b"]}
        assert form.data_json() == '{"tags":["a","b"],"title":"h\u00e9llo"}'.encode()
        img = form.uploads["upload"]["img"]
        txt = form.uploads["upload"]["txt"]
        assert (img.name, img.mime, img.size, img.error) == ("pic.PNG", "image/png", len(PNG), 0)
        assert (txt.name, txt.size) == ("notes.txt", len(TXT))  # Go's filepath.Base
        for upload, content in ((img, PNG), (txt, TXT)):
            path = Path(upload.tmp_name)
            assert path.is_absolute() and path.parent == tmp_path
            assert path.name.startswith("upload")
            assert path.read_bytes() == content
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        uploads_json = json.loads(form.uploads_json())
        assert uploads_json["upload"]["img"] == {
            "name": "pic.PNG",
            "mime": "image/png",
            "size": len(PNG),
            "error": 0,
            "tmpName": img.tmp_name,
        }
        assert list(uploads_json["upload"]["img"]) == ["name", "mime", "size", "error", "tmpName"]
    finally:
        form.cleanup()
    assert list(tmp_path.iterdir()) == []
    form.cleanup()  # twice is fine


def test_forbidden_extension_and_allow_list(tmp_path: Path) -> None:
    body = multipart(
        [
            ("a", "shell.PhP", "text/x-php", b"<?php"),
            ("b", "ok.txt", "text/plain", b"ok"),
            ("c", "img.jpg", "image/jpeg", b"jpg"),
        ]
    )
    form = parse_multipart(
        body, CT, uploads_dir=str(tmp_path), forbid=[".php"], allow=[".TXT", ".php"]
    )
    try:
        a, b, c = (form.uploads[k] for k in "abc")
        assert (a.error, a.tmp_name, a.size) == (8, "", 0)
        assert b.error == 0 and Path(b.tmp_name).read_bytes() == b"ok"
        assert (c.error, c.tmp_name) == (8, "")  # not in the allow list
        assert [p.name for p in tmp_path.iterdir()] == [Path(b.tmp_name).name]
    finally:
        form.cleanup()
    assert list(tmp_path.iterdir()) == []


def test_empty_filename_is_no_file(tmp_path: Path) -> None:
    body = multipart([("f", "", "application/octet-stream", b""), ("x", None, None, b"1")])
    form = parse_multipart(body, CT, uploads_dir=str(tmp_path))
    assert form.uploads["f"].to_json() == {
        "name": "",
        "mime": "application/octet-stream",
        "size": 0,
        "error": 4,
        "tmpName": "",
    }
    assert form.data == {"x": "1"}
    assert list(tmp_path.iterdir()) == []


def test_no_tmp_dir_is_error_6(tmp_path: Path) -> None:
    body = multipart([("f", "a.txt", "text/plain", b"x")])
    form = parse_multipart(body, CT, uploads_dir=str(tmp_path / "missing"))
    assert (form.uploads["f"].error, form.uploads["f"].tmp_name) == (6, "")


def test_multipart_without_files_sends_empty_uploads_tree(tmp_path: Path) -> None:
    prepared = prepare_body(
        "POST", CT, multipart([("x", None, None, b"1")]), uploads_dir=str(tmp_path)
    )
    assert (prepared.body, prepared.parsed, prepared.uploads) == (b'{"x":"1"}', True, {})
    ctx = json.loads(
        build_request_context(
            remote_addr="1.2.3.4",
            protocol="HTTP/1.1",
            method="POST",
            uri="/u",
            headers=[("Host", "h"), ("Content-Type", CT)],
            parsed=True,
            uploads=prepared.uploads,
        )
    )
    assert ctx["uploads"] == {} and ctx["parsed"] is True
    prepared.cleanup()


def test_prepare_body_multipart_puts_uploads_in_context(tmp_path: Path) -> None:
    body = multipart([("doc", "r.bin", "application/octet-stream", b"\x00\r\n\x01")])
    prepared = prepare_body("PUT", CT, body, uploads_dir=str(tmp_path))
    try:
        ctx = json.loads(
            build_request_context(
                remote_addr="1.2.3.4",
                protocol="HTTP/1.1",
                method="PUT",
                uri="/u",
                headers=[],
                parsed=prepared.parsed,
                uploads=prepared.uploads,
            )
        )
        leaf = ctx["uploads"]["doc"]
        assert leaf["size"] == 4 and Path(leaf["tmpName"]).read_bytes() == b"\x00\r\n\x01"
        assert prepared.body == b"{}"
    finally:
        prepared.cleanup()
    assert not Path(leaf["tmpName"]).exists()


def test_multipart_preamble_padding_epilogue_and_lf_mode() -> None:
    body = (
        b"preamble text\r\n--" + B.encode() + b"  \r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n--' + B.encode() + b"--\r\nepilogue"
    )
    assert [(p.name, bytes(p.data)) for p in iter_multipart(body, B)] == [("a", b"1")]
    lf = multipart([("a", None, None, b"x\r\ny"), ("b", None, None, b"")], nl=b"\n")
    assert [(p.name, bytes(p.data)) for p in iter_multipart(lf, B)] == [
        ("a", b"x\r\ny"),
        ("b", b""),
    ]


def test_multipart_quoted_printable_part() -> None:
    body = (
        b"--" + B.encode() + b'\r\nContent-Disposition: form-data; name="q"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nx\r\n"
        b"--" + B.encode() + b"--\r\n"
    )
    assert [(p.name, bytes(p.data)) for p in iter_multipart(body, B)] == [
        ("q", "caf\u00e9 x".encode()),
    ]


def test_multipart_skips_parts_without_form_data_name() -> None:
    body = (
        b"--" + B.encode() + b'\r\nContent-Disposition: attachment; name="x"\r\n\r\nno\r\n'
        b"--" + B.encode() + b"\r\nContent-Type: text/plain\r\n\r\nno\r\n"
        b"--" + B.encode() + b'\r\nContent-Disposition: form-data; name="y"\r\n\r\nyes\r\n'
        b"--" + B.encode() + b"--\r\n"
    )
    assert [(p.name, bytes(p.data)) for p in iter_multipart(body, B)] == [("y", b"yes")]


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--" + B.encode() + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\ntruncated', CT),
        (b"no boundary at all", CT),
        (b"--" + B.encode() + b"\r\nno-header-end", CT),
        (b"", CT),
        (b"--x--\r\n", "multipart/form-data"),  # no boundary parameter
        (b"--x--\r\n", "multipart/form-data-x; boundary=x"),  # contains, but not the type
        (b"--" + B.encode() + b"\r\nbroken header line\r\n\r\nx\r\n--" + B.encode() + b"--", CT),
    ],
)
def test_malformed_multipart(body: bytes, ctype: str, tmp_path: Path) -> None:
    with pytest.raises(FormError):
        prepare_body("POST", ctype, body, uploads_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_conflict_leaves_no_temp_file(tmp_path: Path) -> None:
    body = multipart(
        [("a", None, None, b"1"), ("a[b]", None, None, b"2"), ("f", "x.txt", "text/plain", b"data")]
    )
    with pytest.raises(FormError, match="invalid multiple values to key 'a' in tree"):
        prepare_body("POST", CT, body, uploads_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_many_parts(tmp_path: Path) -> None:
    parts = [(f"f[{i}]", None, None, str(i).encode()) for i in range(5000)]
    parts += [
        ("files[]", f"{i}.bin", "application/octet-stream", bytes([i % 256]) * i)
        for i in range(200)
    ]
    started = time.perf_counter()
    form = parse_multipart(multipart(parts), CT, uploads_dir=str(tmp_path))
    elapsed = time.perf_counter() - started
    try:
        assert len(form.data["f"]) == 5000 and form.data["f"]["4999"] == "4999"
        files = form.uploads["files"]
        assert len(files) == 200 and files[150].size == 150
        assert Path(files[150].tmp_name).read_bytes() == b"\x96" * 150
    finally:
        form.cleanup()
    assert list(tmp_path.iterdir()) == []
    assert elapsed < 5.0


def test_ten_mib_file_parses_quickly(tmp_path: Path) -> None:
    # Adversarial content: many CRLFs and near-boundaries inside the file.
    block = os.urandom(4096) + b"\r\n--" + B.encode()[:-3] + b"\r\n"
    content = (block * (10 * 1024 * 1024 // len(block) + 1))[: 10 * 1024 * 1024]
    body = multipart(
        [("big", "big.bin", "application/octet-stream", content), ("after", None, None, b"tail")]
    )
    started = time.perf_counter()
    form = parse_multipart(body, CT, uploads_dir=str(tmp_path))
    elapsed = time.perf_counter() - started
    try:
        big = form.uploads["big"]
        assert big.size == len(content)
        assert Path(big.tmp_name).read_bytes() == content
        assert form.data == {"after": "tail"}
    finally:
        form.cleanup()
    # Measured ~0.01 s (bytes.find + one write); generous bound for loaded CI machines.
    assert elapsed < 1.0, elapsed
