"""A background thread that keeps the running service's indexes in step with writes made by
other processes (``MatchingEngine.catch_up`` every ``store_poll_seconds``)."""

from __future__ import annotations

import logging
import threading

from matching.engine import MatchingEngine

__all__ = ["StoreFollower"]

log = logging.getLogger(__name__)


class StoreFollower:
    """Calls ``engine.catch_up()`` every ``interval`` seconds until stopped. A failed round is
    logged and retried at the next interval; it never stops the service."""

    def __init__(self, engine: MatchingEngine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self.rounds = 0
        self.refreshed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        """Ask the thread to stop and wait for the round in progress (if any) to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                refreshed = self.engine.catch_up()
            except Exception:
                log.exception("catching up with the store failed; retrying in %s s", self.interval)
                continue
            self.rounds += 1
            count = sum(refreshed.values())
            self.refreshed += count
            if count:
                log.info("caught up with records written elsewhere: %s", refreshed)
