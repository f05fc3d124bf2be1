"""Where the engine runs go: the local fork pool (the default), or a Dask distributed cluster
(``--scheduler ADDRESS``, or ``--scheduler local`` for a ``LocalCluster`` on this machine).

A command opens the cluster once (``scheduler``) before any work; ``engine_pool`` then gives the
portfolio the executor of the open cluster, or a ``ForkPool`` when there is none. On a cluster a
job travels as a picklable description (``RemoteRun``, ``RemoteLemmaSearch``: the scenario, the
property, the part, the engine, the budget and the names of the shared lemmas), never as Z3 or
model objects: the worker forks a process that builds the model and the part again and runs the
engine, exactly as a forked local worker would, so the verdicts and traces are the same.
``distributed`` is imported only when a scheduler is asked for, so the default stays light.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import dataclasses
import hashlib
import importlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import Pipe
from pathlib import Path
from typing import Any, Self, TypeVar, cast

import otaproof
from otaproof.model.config import Scenario
from otaproof.model.variants import REGISTRY, BuiltModel, build
from otaproof.properties.catalogue import BY_ID
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import Reused, shared_lemmas
from otaproof.properties.jobs import FIRST_STAGE, EngineRun, FirstStages, Job, LemmaSearch, parts
from otaproof.properties.pool import _SIGNALS, ENDED, Executor, ForkPool, Report, Work, die_with
from otaproof.properties.templates import with_templates
from otaproof.properties.verdict import Budget, Unknown

LOCAL = "local"  # --scheduler local: a LocalCluster on this machine
CONNECT_SECONDS = 10.0  # to reach the scheduler, and for a first worker to be there
DEFAULT_PORT = 8786  # the port ``dask scheduler`` listens on unless told otherwise
QUIET_WORKERS = {  # a LocalCluster shares the engines' cores: no profiler or GIL sampling, slower monitors
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}
T = TypeVar("T")
STOP_POLL_SECONDS = 0.5  # how often a worker's task looks whether the portfolio stopped its engine


class SchedulerError(Exception):
    """The Dask scheduler cannot be used (unreachable, no workers, another otaproof on a worker,
    a job only this machine knows): one line, exit 2, before any work."""


@dataclass
class Cluster:
    """An open connection to a Dask scheduler (and the ``LocalCluster`` behind it, if ours)."""

    client: Any  # distributed.Client
    local: Any | None  # distributed.LocalCluster, when --scheduler local started it

    def threads(self) -> int:
        """The engine runs the cluster takes at once: one per worker thread."""
        return max(1, sum(int(n) for n in self.client.nthreads().values()))


_ACTIVE: contextvars.ContextVar[Cluster | None] = contextvars.ContextVar("otaproof_cluster", default=None)


@contextmanager
def scheduler(address: str | None, workers: int | None = None,
              wait: float = CONNECT_SECONDS) -> Iterator[Cluster | None]:
    """Open the cluster at ``address`` (``local``: start a LocalCluster of ``workers`` processes,
    default one per CPU) for the block, so ``engine_pool`` sends jobs there; None: nothing (the
    local fork pool). ``wait``: seconds to reach the scheduler and for a first worker. The client
    and any LocalCluster are closed when the block ends, however it ends."""
    if address is None:
        yield None
        return
    here = [name for name, v in REGISTRY.items() if v.origin == "file"]
    if here:
        raise SchedulerError(f"--scheduler {address}: variant {here[0]!r} comes from a --variant-file, which the "
                             "Dask workers do not have: run it without --scheduler")
    cluster = _connect(address, workers, wait)
    token = _ACTIVE.set(cluster)
    try:
        yield cluster
    finally:
        _ACTIVE.reset(token)
        _close(cluster)


def _distributed() -> Any:
    """The ``distributed`` package, imported only when a scheduler is used (it is untyped)."""
    return importlib.import_module("distributed")


def _connect(address: str, workers: int | None, wait: float) -> Cluster:
    """A client of the scheduler at ``address`` with at least one worker running this otaproof."""
    distributed = _distributed()
    local = None
    try:
        if address == LOCAL:
            with importlib.import_module("dask").config.set(QUIET_WORKERS):
                # CRITICAL: every failure of a task reaches this process through its future; what a
                # worker logs itself is noise, e.g. a heartbeat to the scheduler a SIGTERM just closed
                local = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                 processes=True, dashboard_address=None,
                                                 silence_logs=logging.CRITICAL)
            client = distributed.Client(local, set_as_default=False)
        else:
            _probe(address, wait)
            client = distributed.Client(address, timeout=wait, set_as_default=False)
    except (OSError, TimeoutError, ValueError, RuntimeError) as e:  # RuntimeError: a LocalCluster did not start
        if local is not None:
            local.close()
        raise SchedulerError(f"--scheduler {address}: cannot reach the Dask scheduler ({e})") from None
    cluster = Cluster(client, local)
    try:
        client.wait_for_workers(1, timeout=wait)
        mine = fingerprint()
        other = {w: f for w, f in client.run(fingerprint).items() if f != mine}
    except (OSError, TimeoutError) as e:
        _close(cluster)
        raise SchedulerError(f"--scheduler {address}: no Dask worker joined within {wait:g} s ({e})") from None
    if other:
        _close(cluster)
        raise SchedulerError(f"--scheduler {address}: worker {min(other)} runs another otaproof ({other[min(other)]}, "
                             f"here {mine}); install this version on every worker")
    return cluster


def _probe(address: str, wait: float) -> None:
    """Open and close a TCP connection to the scheduler (tcp, tls, ws and wss addresses), so a
    wrong host or port fails at once with the system's reason (a ``Client`` retries until its
    timeout, and a client that never connected takes another 20 s to be collected)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    scheme, location = parse_address(address)
    get_backend(scheme)  # ValueError naming the known schemes
    if scheme not in ("tcp", "tls", "ws", "wss"):
        return
    host, port = parse_host_port(location, DEFAULT_PORT)
    with socket.create_connection((host, port), timeout=wait):
        pass


def _close(cluster: Cluster) -> None:
    """Close the client, then the LocalCluster (which ends its worker processes)."""
    cluster.client.close()
    if cluster.local is not None:
        cluster.local.close()


def fingerprint() -> str:
    """otaproof's version and a hash of its source: a worker must run the same model and engines."""
    digest = hashlib.sha256()
    root = Path(otaproof.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{getattr(otaproof, '__version__', '?')} {digest.hexdigest()[:12]}"


@contextmanager
def engine_pool(workers: int | None) -> Iterator[tuple[Executor, int | None]]:
    """The executor for one portfolio run and how many jobs it runs at once: the open cluster
    (default: one per worker thread), else a local ``ForkPool`` (default: one per CPU)."""
    cluster = _ACTIVE.get()
    if cluster is None:
        with ForkPool() as pool:
            yield pool, workers
        return
    with DaskExecutor(cluster.client) as dask:
        yield dask, workers or cluster.threads()


def portable(scenarios: list[Scenario]) -> None:
    """Raise ``SchedulerError`` if a cluster is open and a scenario's variant exists only here (a
    ``--variant-file`` or a plugin that the workers do not load)."""
    if _ACTIVE.get() is None:
        return
    for sc in scenarios:
        origin = REGISTRY[sc.variant].origin if sc.variant in REGISTRY else "file"
        if origin != "built-in":
            raise SchedulerError(f"variant {sc.variant!r} comes from a {origin}, which the Dask workers do not "
                                 "load: run it without --scheduler")


# ---- jobs as descriptions ----------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteRun:
    """An ``EngineRun`` as data: the worker builds the model and the part again (``work``)."""

    scenario: Scenario
    property_id: str
    part: int  # EngineRun.part: 1-based among the property's parts, 0 when it is one part
    engine: str
    budget: Budget
    known: tuple[str, ...] | None  # the model's inductive lemmas found by the row's lemma search
    reused: tuple[str, str] | None  # (label, certificate) of the same part's proof without attacker
    probe: bool = False  # EngineRun.probe

    def work(self, built: BuiltModel | None = None) -> EngineRun:
        """The run; ``built``: the scenario's model with its candidates, if already built."""
        built = built or with_templates(build(self.scenario), self.budget.seed)
        prop = BY_ID[self.property_id]
        index = max(self.part - 1, 0)
        job: Job = parts(built, prop)[index]
        if isinstance(job, Problem) and self.known is not None:
            job = dataclasses.replace(job, known=shared_lemmas(built.lemmas, self.known))
        if isinstance(job, Problem) and self.reused is not None:
            plain = with_templates(build(dataclasses.replace(self.scenario, threats=frozenset())), self.budget.seed)
            origin = parts(plain, prop)[index]
            assert isinstance(origin, Problem)
            job = dataclasses.replace(job, reused=Reused(self.reused[0], origin.task.system, self.reused[1]))
        return EngineRun(built, job, prop, self.engine, self.budget, self.part, self.probe)


@dataclass(frozen=True)
class RemoteLemmaSearch:
    """A ``LemmaSearch`` as data."""

    scenario: Scenario
    budget: Budget
    processes: int = 1

    def work(self) -> LemmaSearch:
        return LemmaSearch(with_templates(build(self.scenario), self.budget.seed), self.budget, self.processes)


@dataclass(frozen=True)
class RemoteFirstStages:
    """A ``FirstStages`` batch as data: the model is built once for all its runs."""

    runs: tuple[RemoteRun, ...]

    def work(self) -> FirstStages:
        built = with_templates(build(self.runs[0].scenario), self.runs[0].budget.seed)
        return FirstStages(tuple(run.work(built) for run in self.runs))


Remote = RemoteRun | RemoteLemmaSearch | RemoteFirstStages


def describe(work: Work) -> Remote:
    """The description a worker rebuilds ``work`` from; ``SchedulerError`` for a job that cannot
    travel (a property or lemma set this description does not carry)."""
    if isinstance(work, LemmaSearch):
        return RemoteLemmaSearch(work.built.scenario, work.budget, work.processes)
    if isinstance(work, FirstStages):
        return RemoteFirstStages(tuple(_remote_run(run) for run in work.runs))
    if not isinstance(work, EngineRun):
        raise SchedulerError(f"a {type(work).__name__} job cannot be sent to a Dask worker")
    return _remote_run(work)


def _remote_run(work: EngineRun) -> RemoteRun:
    """An engine run's description; ``SchedulerError`` if it cannot travel."""
    if BY_ID.get(work.prop.id) is not work.prop:
        raise SchedulerError(f"property {work.prop.id!r} is not the catalogue's: it cannot be sent to a Dask worker")
    known = reused = None
    if isinstance(work.job, Problem):
        if work.job.known is not None:
            if work.job.known.texts:
                raise SchedulerError("shared lemmas with reused clauses cannot be sent to a Dask worker")
            known = work.job.known.names
        if work.job.reused is not None:
            reused = (work.job.reused.source, work.job.reused.certificate)
    return RemoteRun(work.built.scenario, work.prop.id, work.part, work.engine, work.budget, known, reused,
                     work.probe)


# ---- the executor --------------------------------------------------------------------------------


class DaskExecutor:
    """An ``Executor`` on a Dask cluster: one task per job, answers in the order the local pool
    gives them (the earliest started first, when several are in); ``stop`` cancels the job's task,
    and its worker kills the engine process within ``STOP_POLL_SECONDS``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.run = uuid.uuid4().hex[:12]
        self.futures: dict[int, Any] = {}
        self.names: dict[int, str] = {}  # what each job is, for a lost worker's Unknown
        self.answers: dict[int, list[object]] = {}  # answers of finished tasks not yet handed back

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, key: int, work: Work) -> None:
        self.futures[key] = self.client.submit(serve, describe(work), key=f"otaproof-{self.run}-{key}", pure=False)
        self.names[key] = work.engine if isinstance(work, EngineRun) else \
            FIRST_STAGE if isinstance(work, FirstStages) else "lemma search"

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        distributed = _distributed()
        if not self.answers:
            if not self.futures:
                return None
            try:
                with self.client.as_current():
                    distributed.wait(list(self.futures.values()), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                return None
            for key in sorted(k for k, f in self.futures.items() if f.done()):
                self.answers[key] = self._collect(key)
        key = min(self.answers)
        queue = self.answers[key]
        answer = queue.pop(0)
        if answer is ENDED:
            self._forget(key)
        return key, answer

    def _collect(self, key: int) -> list[object]:
        """A finished task's answers, then ``ENDED``; a task whose worker died (or that failed)
        answers Unknown naming what happened, so its part is unknown and the run goes on."""
        future = self.futures[key]
        try:
            answers: list[object] = future.result()
        except Exception as e:
            why = f"Dask worker lost or task failed ({type(e).__name__}: {e})"
            return [Unknown(self.names[key], 0.0, why), ENDED]
        return [*answers, ENDED]

    def stop(self, key: int) -> None:
        if key in self.futures and not self.futures[key].done():
            self.futures[key].cancel()  # its worker sees the task cancelled and kills the engine process
        self._forget(key)

    def _forget(self, key: int) -> None:
        self.futures.pop(key, None)
        self.names.pop(key, None)
        self.answers.pop(key, None)

    def close(self) -> None:
        """Stop every job still running."""
        for key in list(self.futures):
            self.stop(key)


def serve(job: Remote) -> list[object]:
    """A Dask task: a forked process rebuilds the job and runs it; its answers."""
    return _forked(lambda report: job.work()(report))


def run_forked(fn: Callable[..., T], *args: object) -> T:
    """A Dask task of ``task_pool``: ``fn(*args)`` in a forked process (so it ends with its worker
    or when cancelled, and may start subprocesses tied to it: ``die_with_task``)."""
    answers = _forked(lambda report: report(_Outcome.of(fn, args)))
    if not answers:
        raise RuntimeError(f"the process running {getattr(fn, '__name__', fn)} died")
    outcome = answers[0]
    assert isinstance(outcome, _Outcome)
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)


@dataclass(frozen=True)
class _Outcome:
    """What a forked ``fn(*args)`` returned, or the exception it raised."""

    value: object
    error: Exception | None

    @classmethod
    def of(cls, fn: Callable[..., object], args: tuple[object, ...]) -> _Outcome:
        try:
            return cls(fn(*args), None)
        except Exception as e:
            return cls(None, e)


_IN_FORKED_TASK = False  # true in the process a Dask task forked (single-threaded)


def die_with_task() -> None:
    """``preexec_fn`` for a subprocess of a forked Dask task: it dies with that task's process.
    Safe there only (the forked process has one thread); elsewhere ``forked_task()`` is false."""
    die_with(os.getppid())


def forked_task() -> bool:
    """Whether this process is one a Dask task forked (``die_with_task`` may be used)."""
    return _IN_FORKED_TASK


def _forked(body: Callable[[Report], None]) -> list[object]:
    """Fork a process that runs ``body`` (its answers come back through a pipe; it dies with this
    worker's task thread), and return its answers; kill it as soon as the scheduler takes the
    task back (the portfolio cancelled it), or once it ended. A process that died answers nothing."""
    global _IN_FORKED_TASK
    worker = _distributed().get_worker()
    key = worker.get_current_task()
    reader, writer = Pipe(duplex=False)
    parent = os.getpid()
    pid = os.fork()  # not multiprocessing: a Dask worker is a daemonic process, which may not have its children
    if pid == 0:  # pragma: no cover - runs in the forked process
        try:
            _IN_FORKED_TASK = True
            reader.close()
            for sig in _SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            die_with(parent)
            body(writer.send)
            writer.close()
        finally:
            os._exit(0)
    writer.close()
    answers: list[object] = []
    try:
        while True:
            if reader.poll(STOP_POLL_SECONDS):
                try:
                    answers.append(reader.recv())
                except (EOFError, OSError):
                    break
            elif _cancelled(worker, key):
                break
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already reaped
            pass
        os.waitpid(pid, 0)
        reader.close()
    return answers


def _cancelled(worker: Any, key: object) -> bool:
    """Whether the scheduler took the task back from this worker (the portfolio cancelled it)."""
    task = worker.state.tasks.get(key)
    return task is None or task.state in ("cancelled", "released", "forgotten")


@contextmanager
def task_pool(jobs: int) -> Iterator[cf.Executor]:
    """An executor for independent tasks (a module-level function on picklable arguments, such as
    one mutant's suite run): ``jobs`` threads here (as before), or the open cluster, where each
    task runs in a forked process (``run_forked``); there an error or an interrupt cancels the
    tasks still queued or running."""
    cluster = _ACTIVE.get()
    if cluster is None:
        with cf.ThreadPoolExecutor(max_workers=jobs) as threads:
            yield threads
        return
    remote = _ForkingExecutor(cluster.client.get_executor(pure=False))
    try:
        yield remote
    except BaseException:
        remote.shutdown(wait=False)
        raise
    remote.shutdown(wait=True)


class _ForkingExecutor(cf.Executor):
    """A Dask ``ClientExecutor`` whose tasks run through ``run_forked``."""

    def __init__(self, inner: cf.Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        if kwargs:
            raise TypeError("task_pool tasks take positional arguments only")
        return self.inner.submit(run_forked, fn, *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait)
