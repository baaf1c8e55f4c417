"""RoadRunner's framing rule, read by read (``handler.go readLoop``), and Greenrunner's bounds."""

from __future__ import annotations

import pytest

from actors.plugins.tcp.framing import Framer, FramingError

CRLF = b"\r\n"


def test_a_read_ending_with_the_delimiter_is_a_message_delimiter_included() -> None:
    framer = Framer(CRLF, 1024)
    assert framer.feed(b"hello\r\n") == b"hello\r\n"
    assert framer.pending == 0


def test_the_delimiter_is_only_looked_for_at_the_end_of_a_read() -> None:
    framer = Framer(CRLF, 1024)
    # Two messages in one read travel together; a delimiter mid-read ends nothing.
    assert framer.feed(b"one\r\ntwo\r\n") == b"one\r\ntwo\r\n"
    assert framer.feed(b"three\r\nfo") is None
    assert framer.feed(b"ur\r\n") == b"three\r\nfour\r\n"


def test_a_message_longer_than_one_read_is_accumulated() -> None:
    framer = Framer(b"\n", 1024)
    assert framer.feed(b"a" * 100) is None
    assert framer.feed(b"b" * 100) is None
    assert framer.pending == 200
    assert framer.feed(b"c\n") == b"a" * 100 + b"b" * 100 + b"c\n"
    assert framer.pending == 0


def test_a_read_shorter_than_the_delimiter_is_an_error() -> None:
    framer = Framer(CRLF, 1024)
    with pytest.raises(FramingError, match="less than the delimiter"):
        framer.feed(b"x")
    # A delimiter split over two reads is the same case: its first byte alone is too short.
    framer = Framer(b"END", 1024)
    assert framer.feed(b"abcE") is None
    with pytest.raises(FramingError):
        framer.feed(b"ND")


def test_pending_bytes_are_bounded() -> None:
    framer = Framer(CRLF, 10)
    assert framer.feed(b"0123456789") is None
    with pytest.raises(FramingError, match="message too long: 12 bytes"):
        framer.feed(b"ab")
    assert framer.pending == 0  # nothing kept after the error
    # A complete message may end past the limit with its last read: that read is not pending.
    framer = Framer(CRLF, 10)
    assert framer.feed(b"0123456789") is None
    assert framer.feed(b"abc\r\n") == b"0123456789abc\r\n"


def test_flush_hands_out_the_bytes_after_the_last_delimiter() -> None:
    framer = Framer(CRLF, 1024)
    assert framer.feed(b"tail") is None
    assert framer.flush() == b"tail"
    assert framer.flush() == b""


def test_stream_mode_hands_out_every_read() -> None:
    framer = Framer(b"", 1024, stream=True)
    assert framer.feed(b"x") == b"x"
    assert framer.feed(b"no delimiter\r\nin the middle") == b"no delimiter\r\nin the middle"
    assert framer.pending == 0


def test_no_delimiter_without_stream_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        Framer(b"", 10)
