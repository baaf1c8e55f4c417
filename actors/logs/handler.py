"""The :class:`logging.Handler` that formats on the calling thread and hands lines off.

Formatting stays with the caller (the record's fields may be mutable objects
that only the hub may read); writing is the outputs' writer threads' job, so
:meth:`GreenrunnerHandler.emit` costs a format and a queue append.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from actors.logs.formatters import ConsoleFormatter
from actors.logs.outputs import ErrorReporter, Output

__all__ = ["GreenrunnerHandler"]


class GreenrunnerHandler(logging.Handler):
    """Formats a record once and queues it on each of its outputs.

    Colours (development console) are applied per output, only where it is a
    terminal.  A formatter that raises is reported once on ``err_output``;
    nothing propagates to the code that logged.
    """

    def __init__(
        self,
        formatter: logging.Formatter,
        outputs: Iterable[Output],
        reporter: ErrorReporter | None = None,
    ) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._outputs = tuple(outputs)
        self._reporter = reporter or ErrorReporter()
        self._console = formatter if isinstance(formatter, ConsoleFormatter) else None
        self._colors = self._console is not None and self._console.colors

    @property
    def outputs(self) -> tuple[str, ...]:
        """The configured outputs, as written in the config."""
        return tuple(output.target for output in self._outputs)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the line on every output; never blocks on I/O, never raises."""
        try:
            text = self.format(record) + "\n"
            colored: str | None = None
            for output in self._outputs:
                if self._colors and output.isatty():
                    if colored is None and self._console is not None:
                        colored = self._console.format_colored(record) + "\n"
                    output.put(colored or text)
                else:
                    output.put(text)
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Quiet replacement of the stdlib's traceback-on-stderr (which could block too)."""
        self._reporter.report("formatter", sys.exc_info()[1])
