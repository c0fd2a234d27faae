"""The real processes the e-invoice worker runs among, for tests/einvoice/test_worker.py and bench/einvoice_drain.py:
a dedicated redis-server (broker and shared cache), Celery workers and beat as subprocesses, and the ANAF simulator
over HTTP on loopback in a thread of the calling process, keeping a log of every call it received.

No pytest here: the bench uses it too. Every process starts in its own session so that stopping (or SIGKILLing) one
takes its prefork children with it; logs go to files, and `tail()` shows their end when something fails.
"""

import atexit
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis
from lxml import etree

from einvoice.anaf.simulator import ADMIN_PREFIX, Simulator, SimulatorServer, serve

REPOSITORY = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
UPLOAD_ENDPOINTS = ("upload", "uploadb2c")

# The worker's timings for the tests: seconds where production has minutes. A step (one call of at most the read
# timeout, plus rate-limit waits) stays well inside the lease.
FAST_TIMINGS = {
    "EINVOICE_LEASE_SECONDS": "3",
    "EINVOICE_RECONCILE_AFTER_SECONDS": "2",
    "EINVOICE_RETRY_CAP_SECONDS": "2",
    "EINVOICE_READ_TIMEOUT_SECONDS": "1",
    "EINVOICE_CONNECT_TIMEOUT_SECONDS": "1",
    "EINVOICE_SWEEP_SECONDS": "1",
    "EINVOICE_RATE_LIMIT_PER_MINUTE": "600",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database pytest-django created)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def wait_for(condition: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = "") -> object:
    """Polls `condition` until it answers something true (returned), or raises TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what or condition}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} was never written)"
    return "\n".join(text.splitlines()[-lines:])


class Process:
    """A subprocess in its own session, its output appended to `log`."""

    def __init__(self, name: str, argv: list[str], *, log: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self.env = env
        self.popen: subprocess.Popen | None = None
        self._log_offset = 0
        # Once the group is known to be gone its id may be reused by someone else's processes: never signal it again.
        self._group_gone = True

    def start(self) -> "Process":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as output:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=REPOSITORY,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._group_gone = False
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output_since_start(self) -> str:
        try:
            with open(self.log, "rb") as output:
                output.seek(self._log_offset)
                return output.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_output(self, text: str, *, timeout: float) -> None:
        """Until `text` shows in what this run logged; fails at once if the process exits first."""

        def shown() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail(self.log)}")
            return text in self.output_since_start()

        try:
            wait_for(shown, timeout=timeout, interval=0.05, what=f"{self.name} to log {text!r}")
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{tail(self.log)}") from None

    def kill(self) -> None:
        """SIGKILL to the whole process group (a prefork worker and its pool processes): no shutdown of any kind."""
        self._signal_group(signal.SIGKILL)
        self._group_gone = True
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the group (a Celery worker's warm shutdown), then SIGKILL to whatever is left of it after the
        leader exited or `timeout` passed."""
        if self.popen is None:
            return
        if self.running:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def _signal_group(self, sig: int) -> None:
        if self.popen is None or self._group_gone:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            self._group_gone = True

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} ({self.log}) ---\n{tail(self.log, lines)}"


class RedisServer(Process):
    """A redis-server of our own on a free port, without persistence: killing it loses every queued task, as a
    flushed or replaced broker does. `restart()` comes back on the same port (empty)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        argv = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
        ]  # fmt: skip
        super().__init__("redis-server", argv, log=folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        super().start()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.popen.returncode}:\n{tail(self.log)}")
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        try:
            wait_for(answers, timeout=10, interval=0.02, what=f"redis-server on port {self.port}")
        finally:
            client.close()
        return self

    def restart(self) -> None:
        self.kill()
        self.start()


@dataclass(frozen=True)
class Call:
    """One e-Factura call the simulator received: when (time.time() on arrival), which endpoint and, for an upload,
    the number of the document in its body."""

    at: float
    endpoint: str
    document: str | None = None


def document_number(xml: bytes) -> str | None:
    try:
        return etree.fromstring(xml).findtext(f"{CBC}ID")
    except etree.XMLSyntaxError:
        return None


class RecordingSimulator(Simulator):
    """The simulator, noting every e-Factura call as it arrives (before any fault or processing): the rate the
    workers call ANAF at, and the upload requests each document was sent in."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._calls: list[Call] = []
        self._calls_lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(ADMIN_PREFIX):
            endpoint = path.split("/FCTEL/rest/", 1)[-1].split("/")[0]
            document = None
            if endpoint in UPLOAD_ENDPOINTS:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                document = document_number(body)
            with self._calls_lock:
                self._calls.append(Call(time.time(), endpoint, document))
        return super().__call__(environ, start_response)

    def calls(self, endpoint: str | None = None) -> list[Call]:
        with self._calls_lock:
            return [call for call in self._calls if endpoint is None or call.endpoint == endpoint]

    def upload_requests(self) -> Counter:
        """Upload requests received, by document number."""
        return Counter(call.document for call in self.calls() if call.endpoint in UPLOAD_ENDPOINTS)

    def accepted_by_document(self) -> dict[str | None, list]:
        accepted: dict[str | None, list] = {}
        for upload in self.accepted_uploads():
            accepted.setdefault(document_number(upload.body), []).append(upload)
        return accepted

    def reset(self) -> None:
        super().reset()
        with self._calls_lock:
            self._calls.clear()


def start_simulator(state_dir: Path, *, processing_seconds: float) -> SimulatorServer:
    """The simulator on a free loopback port, permissive (the worker's `simulator` token is taken)."""
    simulator = RecordingSimulator(state_dir, processing_seconds=processing_seconds, require_token=False)
    return serve("127.0.0.1", 0, simulator=simulator)


def worker_environment(
    *, database: str, broker: str, simulator_url: str, validation_dir: str, **overrides: str
) -> dict[str, str]:
    """The environment of a worker or beat: every setting the sync reads, from variables as in production."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EINVOICE_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database,
            "REDIS_URL": broker,
            "EINVOICE_PROVIDER": "simulator",
            "EINVOICE_SIMULATOR_URL": simulator_url,
            "EINVOICE_VALIDATION_DIR": validation_dir,
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


def celery_worker(name: str, folder: Path, env: dict[str, str], *, pool: str = "prefork", concurrency: int = 2):
    argv = [
        CELERY, "-A", "config", "worker",
        "--pool", pool, "--concurrency", str(concurrency),
        "--hostname", f"{name}@%h", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    return Process(name, argv, log=folder / f"{name}.log", env=env)


def celery_beat(folder: Path, env: dict[str, str]) -> Process:
    argv = [
        CELERY, "-A", "config", "beat", "--loglevel", "INFO",
        "--schedule", str(folder / "beat-schedule"), "--pidfile", "",
    ]  # fmt: skip
    return Process("beat", argv, log=folder / "beat.log", env=env)


WORKER_READY = "ready."
BEAT_READY = "beat: Starting..."


@dataclass(frozen=True)
class WorkerGroup:
    """How many worker processes, each with how many pool processes, and the settings they differ in."""

    workers: int = 1
    concurrency: int = 3
    pool: str = "prefork"
    settings: tuple[tuple[str, str], ...] = ()

    def environment(self) -> dict[str, str]:
        return {**FAST_TIMINGS, **dict(self.settings)}


class Stack:
    """redis-server, the simulator, a group of Celery workers and a beat, all in `folder`.

    `ensure(group)` (re)starts the workers and beat only when they are not running with that group's settings, so
    tests that share a configuration share the processes."""

    def __init__(self, folder: Path, *, database: str, validation_dir: str, processing_seconds: float) -> None:
        self.folder = folder
        self.database = database
        self.validation_dir = validation_dir
        self.redis = RedisServer(folder)
        self.server: SimulatorServer | None = None
        self.processing_seconds = processing_seconds
        self.workers: list[Process] = []
        self.beat: Process | None = None
        self.group: WorkerGroup | None = None

    @property
    def simulator(self) -> RecordingSimulator:
        return self.server.simulator

    def start(self) -> "Stack":
        atexit.register(self.stop)  # should the caller never get to stop them
        self.redis.start()
        self.server = start_simulator(self.folder / "anaf", processing_seconds=self.processing_seconds)
        return self

    def environment(self, group: WorkerGroup) -> dict[str, str]:
        return worker_environment(
            database=self.database,
            broker=self.redis.url,
            simulator_url=self.server.url,
            validation_dir=self.validation_dir,
            EINVOICE_SIMULATOR_PROCESSING_SECONDS=str(self.processing_seconds),
            **group.environment(),
        )

    def ensure(self, group: WorkerGroup) -> None:
        if not self.redis.running:
            self.redis.start()
        running = self.workers and all(worker.running for worker in self.workers) and self.beat and self.beat.running
        if running and self.group == group:
            return
        self.stop_workers()
        self.start_workers(group)

    def start_workers(self, group: WorkerGroup | None = None, *, beat: bool = True) -> None:
        """The group's workers (and beat), returning once every worker logged that it is ready."""
        group = group or self.group
        env = self.environment(group)
        self.group = group
        self.workers = [
            celery_worker(f"worker{n}", self.folder, env, pool=group.pool, concurrency=group.concurrency).start()
            for n in range(1, group.workers + 1)
        ]
        if beat and not (self.beat and self.beat.running):
            self.beat = celery_beat(self.folder, env).start()
        for worker in self.workers:
            worker.wait_for_output(WORKER_READY, timeout=60)
        if self.beat:
            self.beat.wait_for_output(BEAT_READY, timeout=60)

    def revive(self) -> list[str]:
        """What a supervisor does (docker-compose's `restart: unless-stopped`): starts again every worker or beat
        that exited. The names of those it restarted."""
        revived = []
        for process in [*self.workers, self.beat]:
            if process is not None and not process.running:
                process.start()
                process.wait_for_output(BEAT_READY if process is self.beat else WORKER_READY, timeout=60)
                revived.append(process.name)
        return revived

    def kill_workers(self) -> None:
        """SIGKILL to every worker and its pool processes: no warm shutdown, no acknowledgement, no cleanup."""
        for worker in self.workers:
            worker.kill()

    def stop_workers(self) -> None:
        for process in [*self.workers, self.beat]:
            if process is not None:
                process.stop()
        self.workers, self.beat = [], None

    def stop(self) -> None:
        try:
            self.stop_workers()
        finally:
            try:
                if self.server is not None:
                    self.server.shutdown()
            finally:
                self.redis.stop()

    def logs(self, lines: int = 40) -> str:
        processes = [*self.workers, self.beat, self.redis]
        return "\n".join(process.tail(lines) for process in processes if process is not None)
