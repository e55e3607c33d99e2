"""PostgreSQL tells the server when the register changed: ``LISTEN`` on one connection.

Before every suggestion, ``gapmap serve --db`` asks whether the register changed since the
free hours it holds (:meth:`gapmap.store.Store.mark`). On SQLite the answer costs
microseconds (``PRAGMA data_version``); on PostgreSQL it was a round trip to the server. Here
one connection of the process listens on the channel :data:`CHANNEL`, which a trigger on the
version counters notifies at every commit that raised them (migration 0005), so the question
is answered in the process: "no notification since" means "unchanged", with no round trip.

A change by another process is seen as soon as its notification arrives (PostgreSQL sends it
at commit; milliseconds); this process's own writes are counted when they commit
(:meth:`gapmap.store.Store._write`). A suggestion is advice: a referral always checks the free
hours in its own transaction. If the listening connection is lost, :attr:`VersionListener.alive`
turns false and the store asks the server again before every suggestion, as before.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.engine import Engine

__all__ = ["CHANNEL", "VersionListener"]

#: The channel the version counters' trigger notifies (migration 0005).
CHANNEL = "gapmap_register_version"


class VersionListener:
    """Counts the notifications of :data:`CHANNEL` on a connection of its own.

    Parameters
    ----------
    engine
        The store's PostgreSQL engine; one connection is taken out of its pool for good.
    """

    def __init__(self, engine: Engine) -> None:
        raw = engine.raw_connection()
        conn: Any = raw.driver_connection
        raw.detach()  # ours for good: never handed back to the pool
        if conn is None:
            raise RuntimeError("no connection to listen on")
        conn.autocommit = True
        conn.execute(f"LISTEN {CHANNEL}")  # before the first mark is read: no gap
        self._conn = conn
        self.count = 0
        self.alive = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gapmap-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for _ in self._conn.notifies(timeout=0.5):
                    self.count += 1
        except Exception:  # the connection was lost: the store asks the server again
            pass
        finally:
            self.alive = False

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._conn.close()
        except Exception:
            pass
