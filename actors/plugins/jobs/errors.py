"""RoadRunner's error texts for the jobs plugin, nested as ``roadrunner-server/errors`` prints.

RoadRunner wraps an error once per operation: ``errors.E(op, err)`` prints ``op: text`` when
``err`` is a plain error and ``op:\\n\\ttext`` when it is itself a wrapped error.  PHP code
and scripts match on these strings, so Greenrunner builds them the same way.
"""

from __future__ import annotations

from actors.rpc.errors import ServiceError

__all__ = ["JobsError", "wrap"]


class JobsError(ServiceError):
    """A jobs operation failed; ``str()`` is RoadRunner's text for it (an expected failure:
    the RPC server replies with it and logs it at debug level only)."""

    def __init__(self, text: str, *, nested: bool = False) -> None:
        super().__init__(text)
        #: True when the text is already an ``op: ...`` chain (the next wrap indents it).
        self.nested = nested

    def __str__(self) -> str:
        return str(self.args[0])


def wrap(op: str, error: BaseException | str) -> JobsError:
    """``errors.E(op, error)``: a :class:`JobsError` prints ``op:\\n\\t<its text>``,
    anything else ``op: <text>``."""
    if isinstance(error, JobsError) and error.nested:
        return JobsError(f"{op}:\n\t{error}", nested=True)
    return JobsError(f"{op}: {error}", nested=True)


def plain(text: str) -> JobsError:
    """``errors.E(errors.Str(text))``: no op, but still a wrapped error (indented by ``wrap``)."""
    return JobsError(text, nested=True)
