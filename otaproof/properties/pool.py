"""Worker processes for engine runs: forked, each with a pipe of its own for its answers, and
all ended when the pool closes, whether the run finished, failed or was interrupted.

The portfolio and coverage's prover see only the ``Executor`` interface (start a job, read the
next answer, stop a job), so their scheduling rules are tested with a fake executor, without
processes. Workers are forked (an engine inherits its model instead of unpickling it), end
silently on SIGINT and SIGTERM (no traceback; the main process reports the interruption), and
die with the main process even when it is killed outright (Linux: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Protocol, Self

from otaproof.properties import solver

Report = Callable[[object], None]
Work = Callable[[Report], None]  # what a worker runs; it passes each answer to its argument


class Ended:
    """A worker's last message, added by the pool: its process ended (after its answers, or
    without any if it died)."""

    def __repr__(self) -> str:
        return "ENDED"


ENDED = Ended()


class Executor(Protocol):
    """Runs jobs in workers and hands back their answers, one at a time."""

    def start(self, key: int, work: Work) -> None:
        """Run ``work`` in a new worker; its answers come back under ``key``."""

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        """The next answer of some worker (``ENDED`` once its process has ended), or None
        if none came within ``timeout`` seconds."""

    def stop(self, key: int) -> None:
        """End the worker of ``key`` now; nothing more comes from it."""


_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_PR_SET_PDEATHSIG = 1


class Terminated(BaseException):
    """SIGTERM in the main process (as KeyboardInterrupt is SIGINT): it unwinds the run, so
    every pool on the way ends its workers, and nothing half-done is written."""


@contextmanager
def interruptions() -> Iterator[None]:
    """In the main thread, turn SIGINT into KeyboardInterrupt and SIGTERM into ``Terminated``;
    after the first, both are ignored until the block ends, so ending the workers is not
    interrupted in turn. Python runs a handler only between bytecodes, so a watcher thread,
    woken by the signal, stops any Z3 query the main thread is in. The previous handlers come
    back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[BaseException] = []

    def interrupt(signum: int, _frame: object) -> None:
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        received.append(KeyboardInterrupt() if signum == signal.SIGINT else Terminated())
        raise received[0]

    previous = {sig: signal.signal(sig, interrupt) for sig in _SIGNALS}
    wake, woken = socket.socketpair()
    wake.setblocking(False)
    previous_fd = signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=_stop_solvers_on_signal, args=(woken,), name="otaproof-signals", daemon=True)
    watcher.start()
    try:
        yield
    except BaseException:
        if not received:
            raise
    finally:
        signal.set_wakeup_fd(previous_fd)
        wake.close()  # the watcher reads the end of the stream and returns
        watcher.join()
        woken.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:  # whatever the interrupted code made of it (ctypes wraps it in an ArgumentError, Z3 "canceled")
        raise received[0] from None


def _stop_solvers_on_signal(woken: socket.socket) -> None:
    """The watcher: Python writes each signal's number to ``woken``'s peer (``set_wakeup_fd``)."""
    while number := woken.recv(1):
        if number[0] in _SIGNALS:
            solver.interrupt()


class ForkPool:
    """An ``Executor`` of forked processes; a context manager that kills every worker on exit.
    ``daemon=False`` lets a worker fork workers of its own (a daemonic process may not); it still
    dies with the main process and is killed when the pool closes."""

    def __init__(self, daemon: bool = True) -> None:
        self.ctx = mp.get_context("fork")
        self.daemon = daemon
        self.workers: dict[int, tuple[BaseProcess, Connection]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, key: int, work: Work) -> None:
        reader, writer = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=_serve, args=(work, writer, os.getpid()), daemon=self.daemon)
        with _signals_held():  # an interrupt now would find the new worker unregistered
            proc.start()
            self.workers[key] = (proc, reader)
        writer.close()  # the worker holds the only write end: its death reads as end of file

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        readers = {reader: key for key, (_, reader) in self.workers.items()}
        ready = [r for r in wait(list(readers), timeout) if isinstance(r, Connection)] if readers else []
        if not ready:
            return None
        key = min(readers[r] for r in ready)  # the earliest started, when several answered
        reader = self.workers[key][1]
        try:
            return key, reader.recv()
        except (EOFError, OSError):
            self.stop(key)
            return key, ENDED

    def stop(self, key: int) -> None:
        proc, reader = self.workers.pop(key)
        proc.kill()
        proc.join()
        reader.close()

    def close(self) -> None:
        """Kill every worker still running."""
        for key in list(self.workers):
            self.stop(key)


def _serve(work: Work, writer: Connection, parent: int) -> None:
    """A worker's body: SIGINT and SIGTERM end it silently (the handlers inherited from the main
    process would raise in the work and print a traceback), and it dies with the main process."""
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    die_with(parent)
    work(writer.send)
    writer.close()


def die_with(parent: int) -> None:
    """Ask the kernel to kill this process when its parent ``parent`` ends (Linux only): a
    worker dies with the main process, a solver process with the worker that started it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the main process still kills its workers on exit
        pass
    if os.getppid() != parent:  # the main process died before the request took effect
        os._exit(1)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (delivered when the block ends), so the main process is not
    interrupted between forking a worker and recording it."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
