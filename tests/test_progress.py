"""Progress goes through logging: the command line shows it, a published run's figures follow
the rule, and a bar is drawn only on a terminal."""

from __future__ import annotations

import io
import logging

from gapmap.cli import progress
from gapmap.publish.disclosure import Suppression


class _Terminal(io.StringIO):
    def isatty(self) -> bool:  # a terminal, as far as the bar can tell
        return True


def test_messages_of_the_library_reach_the_stream_once(tmp_path):
    out = io.StringIO()
    handler = progress.show_progress(out)
    try:
        progress.show_progress(out)  # a second call adds no second handler
        logging.getLogger("gapmap.matching.search").info("  improving: 120 so far")
        logging.getLogger("gapmap.matching").debug("solver detail")  # below INFO: not shown
        assert out.getvalue() == "  improving: 120 so far\n"
    finally:
        logging.getLogger("gapmap").removeHandler(handler)


def test_a_published_run_rounds_the_figures_in_its_messages():
    out = io.StringIO()
    handler = progress.show_progress(out)
    try:
        with progress.published_figures(40, Suppression()):
            logging.getLogger("gapmap.matching").info("  3 matched, 18 urgency-weighted hours")
        logging.getLogger("gapmap.matching").info("  3 matched")  # outside: as said
        assert out.getvalue().splitlines() == [
            "  * matched, 20 urgency-weighted hours",
            "  3 matched",
        ]
    finally:
        logging.getLogger("gapmap").removeHandler(handler)


def test_the_bar_is_drawn_on_a_terminal_and_cleared_around_messages():
    tty, pipe = _Terminal(), io.StringIO()
    for stream in (tty, pipe):
        handler = progress.show_progress(stream)
        try:
            with progress.bar("matching", 60, every=0.01):
                for _ in range(200):  # wait for the first drawing, without a clock assertion
                    if handler.bar_line or stream is pipe:
                        break
                    import time

                    time.sleep(0.01)
                logging.getLogger("gapmap.matching").info("  halfway")
        finally:
            logging.getLogger("gapmap").removeHandler(handler)
    assert "matching [" in tty.getvalue() and "s of 60 s" in tty.getvalue()
    assert "\r\033[K  halfway\n" in tty.getvalue()  # the bar cleared before the message
    assert tty.getvalue().endswith("\r\033[K")  # and cleared at the end
    assert pipe.getvalue() == "  halfway\n"  # no bar where no one watches


def test_a_server_logs_each_message_once(tmp_path):
    """``serve`` logs through the root logger with times: the progress handler steps aside,
    so no message is shown twice."""
    out = io.StringIO()
    progress.show_progress(out)
    progress.hide_progress()
    root = io.StringIO()
    handler = logging.StreamHandler(root)
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("gapmap.serve.app").warning("suggestion: status ok")
    finally:
        logging.getLogger().removeHandler(handler)
    assert out.getvalue() == "" and root.getvalue() == "suggestion: status ok\n"
