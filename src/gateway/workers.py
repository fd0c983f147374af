"""Worker processes: ``lockr serve --workers N`` runs N copies of the server sharing
the listeners, so that one node uses all its cores.

The parent (the *supervisor*) binds the listening sockets once, then forks the
workers, which inherit them: the kernel hands each new connection to one of the
processes waiting on a socket, and a worker that dies leaves the connections still
queued to the others. The supervisor serves no request. It

- starts a new worker in place of one that exits or is killed (at once if it had been
  serving, after a growing pause if it died before it served);
- gives up, stops the others and exits non-zero when :data:`MAX_FAILED_STARTS`
  workers in a row die before serving (a worker that serves resets the count);
- on SIGTERM or SIGINT sends SIGTERM to every worker and waits for them to finish
  their requests; a second signal sends SIGINT, which makes them stop at once, as a
  second Ctrl+C does to a single process; workers still running
  :data:`STOP_SECONDS` later are killed.

A worker is given a callback to call once it serves; it MUST NOT return into the
supervisor's code (the supervisor ends it with ``os._exit``). Workers get SIGTERM
when the supervisor dies, however it dies (Linux), so none is left holding the ports.
"""

from __future__ import annotations

import ctypes
import logging
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn

log = logging.getLogger("lockr.workers")

MAX_FAILED_STARTS = 5
"""Workers in a row that may die before serving before the supervisor gives up."""
FIRST_RETRY_SECONDS = 0.1
"""The pause before starting again after a failed start; it doubles with each one."""
STOP_SECONDS = 60.0
"""How long workers may take to stop (their requests in flight, then their core)."""
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
PR_SET_PDEATHSIG = 1

Run = Callable[[Callable[[], None]], int]
"""A worker's body: serve until told to stop, calling its argument once it serves;
returns the worker's exit code."""


@dataclass
class _Worker:
    number: int
    pid: int
    ready: int | None
    """The read end of the pipe the worker reports on, until it has reported."""
    serving: bool = False


class Supervisor:
    """Runs ``count`` workers, each ``run`` in a process of its own (see the module's
    docstring); ``on_serving`` is called once, when all of them first serve."""

    def __init__(self, count: int, run: Run, *, on_serving: Callable[[], None]) -> None:
        self.count = count
        self.run_worker = run
        self.on_serving = on_serving
        self.workers: dict[int, _Worker] = {}
        self.due: dict[int, float] = {}
        """Workers to start again, by number: when."""
        self.failed_starts = 0
        self.all_served = False
        self.stop_signals = 0
        self.stop_deadline: float | None = None
        self.exit_code = 0
        self.pid = os.getpid()
        self.selector = selectors.PollSelector()  # poll keeps no descriptor to inherit
        self.wake_read, self.wake_write = os.pipe()

    def run(self) -> int:
        """Start the workers and supervise them until they have all stopped; the
        supervisor's exit code: 0 after a stop asked for by a signal, whose workers
        all stopped cleanly; 1 otherwise."""
        os.set_blocking(self.wake_write, False)
        self.selector.register(self.wake_read, selectors.EVENT_READ)
        previous_fd = signal.set_wakeup_fd(self.wake_write, warn_on_full_buffer=False)
        previous = {sig: signal.signal(sig, _note) for sig in SIGNALS}
        try:
            for number in range(self.count):
                self._start(number)
            while self.workers or (self.due and not self.stop_signals):
                self._step()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_fd)
            self.selector.close()
            os.close(self.wake_read)
            os.close(self.wake_write)
        return self.exit_code

    # -- the loop ---------------------------------------------------------------------

    def _step(self) -> None:
        for key, _events in self.selector.select(self._timeout()):
            if key.fd == self.wake_read:
                self._signals(os.read(self.wake_read, 512))
            else:
                self._reported(key.fd)
        self._reap()
        now = time.monotonic()
        if self.stop_deadline is not None and now >= self.stop_deadline:
            for worker in self.workers.values():
                log.error("worker %d (pid %d) did not stop in time: killed", *_who(worker))
                _send(worker.pid, signal.SIGKILL)
            self.exit_code = 1
            self.stop_deadline = None
        if not self.stop_signals:
            for number, when in list(self.due.items()):
                if when <= now:
                    del self.due[number]
                    self._start(number)

    def _timeout(self) -> float | None:
        times = [*self.due.values()] if not self.stop_signals else []
        if self.stop_deadline is not None:
            times.append(self.stop_deadline)
        return max(0.0, min(times) - time.monotonic()) if times else None

    def _signals(self, received: bytes) -> None:
        for number in received:
            if number in (signal.SIGTERM, signal.SIGINT):
                self._stop(by_signal=True)

    def _stop(self, *, by_signal: bool) -> None:
        """Ask every worker to stop: the first time gracefully, then at once."""
        if by_signal:
            self.stop_signals += 1
        else:
            self.stop_signals = max(self.stop_signals, 1)
        self.due.clear()
        if self.stop_deadline is None and self.stop_signals == 1:
            self.stop_deadline = time.monotonic() + STOP_SECONDS
            log.info("stopping %d workers", len(self.workers))
        forwarded = signal.SIGTERM if self.stop_signals == 1 else signal.SIGINT
        for worker in self.workers.values():
            _send(worker.pid, forwarded)

    def _reported(self, fd: int) -> None:
        """The worker whose pipe is ``fd`` serves now, or died before it did."""
        served = os.read(fd, 1)
        self.selector.unregister(fd)
        os.close(fd)
        worker = next(w for w in self.workers.values() if w.ready == fd)
        worker.ready = None
        if not served:
            return  # it died: reaped below
        worker.serving = True
        self.failed_starts = 0
        if not self.all_served and all(w.serving for w in self.workers.values()):
            if len(self.workers) == self.count:
                self.all_served = True
                self.on_serving()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                self._exited(worker, os.waitstatus_to_exitcode(status))

    def _exited(self, worker: _Worker, code: int) -> None:
        if worker.ready is not None:
            self.selector.unregister(worker.ready)
            os.close(worker.ready)
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
        if self.stop_signals:
            # Killed by the SIGTERM sent to it: it was still starting, serving nothing.
            if code not in (0, -signal.SIGTERM):
                log.error("worker %d (pid %d) %s while stopping", *_who(worker), how)
                self.exit_code = 1
            return
        if worker.serving:
            log.warning("worker %d (pid %d) %s; starting another", *_who(worker), how)
            self.due[worker.number] = time.monotonic()
            return
        self.failed_starts += 1
        if self.failed_starts >= MAX_FAILED_STARTS:
            log.error(
                "worker %d (pid %d) %s before it served, as did the %d before it: "
                "giving up (their messages are above)",
                *_who(worker),
                how,
                self.failed_starts - 1,
            )
            self.exit_code = 1
            self._stop(by_signal=False)
            return
        pause = FIRST_RETRY_SECONDS * 2 ** (self.failed_starts - 1)
        log.error(
            "worker %d (pid %d) %s before it served; starting another in %.1f s",
            *_who(worker),
            how,
            pause,
        )
        self.due[worker.number] = time.monotonic() + pause

    # -- starting a worker --------------------------------------------------------------

    def _start(self, number: int) -> None:
        ready_read, ready_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        # Signals wait until the child has put back the defaults: until then, one
        # would run the supervisor's handler in the child.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pid = os.fork()
        if pid == 0:
            self._child(ready_read, ready_write, mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(ready_write)
        self.workers[pid] = _Worker(number, pid, ready_read)
        self.selector.register(ready_read, selectors.EVENT_READ)

    def _child(
        self, ready_read: int, ready_write: int, mask: set[int | signal.Signals]
    ) -> NoReturn:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for fd in (
                ready_read,
                self.wake_read,
                self.wake_write,
                *(w.ready for w in self.workers.values() if w.ready is not None),
            ):
                os.close(fd)
            _die_with_parent(self.pid)

            def serving() -> None:
                os.write(ready_write, b"1")
                os.close(ready_write)

            code = self.run_worker(serving)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:
            log.exception("worker failed")
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)


def _note(_sig: int, _frame: FrameType | None) -> None:
    """The supervisor's signal handler: the signal's number reaches the wake-up pipe."""


def _send(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _who(worker: _Worker) -> tuple[int, int]:
    return worker.number + 1, worker.pid


def _die_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when ``parent``, the supervisor, dies
    (Linux); exit if it has died already."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:
        raise SystemExit(1)
