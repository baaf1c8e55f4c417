"""The unit of work exchanged with a worker: a context part and a body part."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Payload"]


@dataclass(slots=True)
class Payload:
    """What a worker receives and answers.

    ``context`` is the header part (the HTTP plugin puts its JSON request
    context there), ``body`` the rest.  ``flags`` is the frame's codec byte;
    ``end_of_stream`` is False on every chunk of a streamed response but the
    last.
    """

    body: bytes = b""
    context: bytes = b""
    flags: int = 0
    end_of_stream: bool = True
