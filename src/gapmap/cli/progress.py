"""Progress on the terminal: the library's ``logging`` messages, and a bar on long work.

The analysis modules say how they are going through :mod:`logging` (loggers under
``gapmap``, level INFO) and print nothing themselves; a notebook sees the messages when it
turns logging on (``logging.basicConfig(level=logging.INFO)``). The command line shows them on
standard error with :func:`show_progress`, and, when standard error is a terminal, a bar for
work bounded by a time limit (:func:`bar`): the matching, the cover plan, N−1. In a
published run the figures in the messages follow the small-number rule
(:func:`published_figures`), as ``summary.json`` does.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from gapmap.publish.disclosure import Suppression
from gapmap.publish.summaries import published_progress

__all__ = ["bar", "hide_progress", "published_figures", "show_progress"]

_LOGGER = logging.getLogger("gapmap")
_WIDTH = 24


class _Terminal(logging.Handler):
    """Writes each message on its own line, clearing and redrawing the bar around it."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(logging.INFO)
        self.given = stream
        self.bar_line = ""  # the bar as last drawn ("" when none)
        self.lock_ = threading.Lock()

    @property
    def stream(self) -> TextIO:
        """The stream given, or standard error as it is now (a test may have replaced it)."""
        return self.given if self.given is not None else sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            with self.lock_:
                if self.bar_line:
                    self.stream.write("\r\033[K")
                self.stream.write(msg + "\n")
                if self.bar_line:
                    self.stream.write(self.bar_line)
                self.stream.flush()
        except Exception:  # a broken terminal must not stop the work
            self.handleError(record)

    def draw(self, line: str) -> None:
        with self.lock_:
            self.bar_line = line
            self.stream.write("\r\033[K" + line)
            self.stream.flush()

    def clear(self) -> None:
        with self.lock_:
            if self.bar_line:
                self.stream.write("\r\033[K")
                self.stream.flush()
            self.bar_line = ""


_handler: _Terminal | None = None


def show_progress(stream: TextIO | None = None) -> _Terminal:
    """Show gapmap's progress messages on ``stream`` (default standard error), once.

    Parameters
    ----------
    stream
        Where the messages go.

    Returns
    -------
    logging.Handler
        The handler attached to the ``gapmap`` logger (the same one on a second call).

    Examples
    --------
    >>> import io, logging
    >>> out = io.StringIO()
    >>> h = show_progress(out)
    >>> logging.getLogger("gapmap.matching").info("  3 matched")
    >>> out.getvalue()
    '  3 matched\\n'
    >>> _LOGGER.removeHandler(h)
    """
    global _handler
    if _handler is None or _handler.given is not stream or _handler not in _LOGGER.handlers:
        if _handler is not None:
            _LOGGER.removeHandler(_handler)
        _handler = _Terminal(stream)
        _handler.setFormatter(logging.Formatter("%(message)s"))
        _LOGGER.addHandler(_handler)
    _LOGGER.setLevel(logging.INFO)
    return _handler


def hide_progress() -> None:
    """Stop showing progress messages through :func:`show_progress` (a server logs its own,
    with times, through the root logger)."""
    global _handler
    if _handler is not None:
        _LOGGER.removeHandler(_handler)
        _handler = None


def _current() -> _Terminal:
    """The handler shown now (the one :func:`show_progress` attached), else a new one."""
    if _handler is not None and _handler in _LOGGER.handlers:
        return _handler
    return show_progress()


class _Published(logging.Filter):
    def __init__(self, people: int, rule: Suppression) -> None:
        super().__init__()
        self.said: list[str] = []
        self.publish = published_progress(self.said.append, people, rule)

    def filter(self, record: logging.LogRecord) -> bool:
        self.publish(record.getMessage())
        record.msg, record.args = self.said.pop(), None
        return True


@contextmanager
def published_figures(people: int, rule: Suppression) -> Iterator[None]:
    """While inside, the figures in the messages shown follow ``rule`` (a published run).

    Parameters
    ----------
    people
        How many people the run is about.
    rule
        The study's suppression rule.
    """
    handler = _current()
    f = _Published(people, rule)
    handler.addFilter(f)
    try:
        yield
    finally:
        handler.removeFilter(f)


def _bar_line(label: str, elapsed: float, seconds: float) -> str:
    done = min(1.0, elapsed / seconds) if seconds > 0 else 1.0
    filled = round(done * _WIDTH)
    return f"  {label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {elapsed:.0f} s of {seconds:.0f} s"


@contextmanager
def bar(label: str, seconds: float, *, every: float = 0.5) -> Iterator[None]:
    """A bar of the time used against the time limit, redrawn while inside, on a terminal only.

    Parameters
    ----------
    label
        What is being done (``matching``).
    seconds
        The time limit the work keeps to.
    every
        Seconds between redraws.

    Examples
    --------
    >>> _bar_line("matching", 15, 60)
    '  matching [######..................] 15 s of 60 s'
    """
    handler = _current()
    isatty = getattr(handler.stream, "isatty", lambda: False)
    if not isatty():
        yield
        return
    done = threading.Event()
    t0 = time.perf_counter()

    def draw() -> None:
        while not done.wait(every):
            handler.draw(_bar_line(label, time.perf_counter() - t0, seconds))

    thread = threading.Thread(target=draw, name="gapmap-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        handler.clear()
