"""A worker: huey's consumer threads run queued jobs; a ticker thread queues periodic jobs when due.

``socialcare worker`` runs one in the foreground; ``socialcare serve`` and ``socialcare demo`` start
one inside the web server's process (the embedded worker, ``--no-worker`` to leave it out), so
one command does everything on a laptop while production runs separate worker processes.
"""

from __future__ import annotations

import logging
import signal
import threading

from huey.consumer import Consumer

from socialcare.core.settings import get_settings
from socialcare.jobs import queue

log = logging.getLogger("socialcare.jobs")


class _QuietConsumer(Consumer):
    """huey's consumer without its signal handlers: the process that embeds it owns the signals."""

    def _set_signal_handlers(self):
        pass


class Worker:
    def __init__(self, threads: int | None = None, tick_seconds: float | None = None):
        settings = get_settings()
        self.threads = threads or settings.jobs_threads
        self.tick_seconds = tick_seconds or settings.jobs_tick_seconds
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._consumer: Consumer | None = None

    def start(self) -> Worker:
        huey = queue.get_huey()
        self._consumer = _QuietConsumer(huey, workers=self.threads, worker_type="thread", periodic=False,
                                        initial_delay=0.05, backoff=1.5, max_delay=min(self.tick_seconds, 2.0),
                                        check_worker_health=False)
        self._consumer.start()
        try:
            if queue.requeue_waiting():
                log.info("runs left waiting were sent to the queue again")
        except Exception:  # no schema yet, or the database is away for a moment: the ticker retries later
            log.exception("waiting runs could not be re-sent")
        self._ticker = threading.Thread(target=self._tick_loop, name="socialcare-jobs-ticker", daemon=True)
        self._ticker.start()
        log.info("job worker started: %s thread(s), %s queue, ticking every %ss", self.threads,
                 queue.backend_name(), self.tick_seconds)
        return self

    def _tick_loop(self) -> None:
        while not self._stop.is_set():
            try:
                queue.tick()
            except Exception:  # the database is down for a moment: tick again later
                log.exception("the job schedule could not be read")
            self._stop.wait(self.tick_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._consumer is not None:
            self._consumer.stop_flag.set()
            for _, thread in self._consumer.worker_threads:
                thread.join(timeout)
            self._consumer.scheduler.join(timeout)
        if self._ticker is not None:
            self._ticker.join(timeout)
        log.info("job worker stopped")

    def run_forever(self) -> None:
        """Foreground: until SIGINT or SIGTERM (the running job finishes first)."""
        done = threading.Event()

        def _handle(signum, frame):
            done.set()

        previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
        self.start()
        try:
            while not done.wait(1.0):
                pass
        finally:
            self.stop()
            for s, h in previous.items():
                signal.signal(s, h)
