"""Load benchmark (issue 11): warmline under many conversations at once, driven by Locust.

Each run starts a real server (a separate process on loopback, fresh database), lets Locust's
headless runner hold N conversations at once (routine conversations of a few turns, about 10%
escalating; each conversation sends its next message when the previous answer arrives), and
measures, after a warm-up, messages per second, latency percentiles, errors and CPU time per
message (server processes, and PostgreSQL's separately). The demo help centre is imported
first, so every routine message is also a knowledge-base search. Configurations: SQLite with one
process, PostgreSQL with one and with two workers; the same at 50 conversations with the
analysis replaced by a constant (what HTTP and the database cost alone); and paced runs, where
each conversation sends 6 messages per second at most (300 per second offered at 50), to show
latency below saturation.

    python benchmarks/bench_load.py [--quick] [--write-docs]
    python benchmarks/bench_load.py --soak 600 [--write-docs]   # resident memory over time

The load generator runs on the same 2-core machine as the server, so both share the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa

from warmline.demo import DEMO_KNOWLEDGE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway PostgreSQL cluster of the tests
sys.path.insert(0, str(HERE))

from perfdoc import MACHINE, update_subsection  # noqa: E402
from pg import ThrowawayCluster  # noqa: E402

SECTION = "Load"
WARM_UP = 3.0
TARGETS = {
    ("sqlite", 1, 50): (300.0, 100.0),  # messages/s at least, p99 ms at most
    ("postgres", 2, 50): (300.0, 150.0),
}


@dataclass
class Run:
    """One measured run."""

    store: str
    workers: int
    users: int
    analyzer: str = "models"
    pace: float = 0.0
    seconds: float = 20.0

    @property
    def label(self) -> str:
        base = (
            "SQLite, 1 process" if self.store == "sqlite" else f"PostgreSQL, {self.workers} worker"
        )
        base += "s" if self.workers > 1 else ""
        extra = ", constant analysis" if self.analyzer == "constant" else ""
        extra += f", paced {self.pace:g}/s per conversation" if self.pace else ""
        return f"{base}{extra}"


@dataclass
class Result:
    """What a run measured."""

    run: Run
    messages: int
    per_second: float
    p50: float
    p95: float
    p99: float
    errors: int
    cpu_ms: float
    db_cpu_ms: float
    rss_mb: float

    def line(self) -> str:
        db = f" + PostgreSQL {self.db_cpu_ms:.1f}" if self.run.store == "postgres" else ""
        return (
            f"{self.run.label}, {self.run.users} conversations: {self.per_second:.0f} msg/s, "
            f"p50 {self.p50:.0f} ms, p95 {self.p95:.0f} ms, p99 {self.p99:.0f} ms, "
            f"errors {self.errors}, CPU {self.cpu_ms:.1f} ms/msg{db}, RSS {self.rss_mb:.0f} MB"
        )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _rss(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


class Server:
    """`warmline serve` on a fresh database, as a separate process group."""

    def __init__(self, run: Run, workdir: Path, database_url: str | None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "WARMLINE_ENV": "development",
            "WARMLINE_DATA_DIR": str(workdir),
            "WARMLINE_LOG_LEVEL": "WARNING",
            "WARMLINE_ANALYZER": run.analyzer,
            # One client (Locust, on loopback) stands for many customers here.
            "WARMLINE_RATE_LIMIT_CLIENT_BURST": "100000000",
            "WARMLINE_RATE_LIMIT_CLIENT_PER_SECOND": "100000000",
        }
        env.pop("WARMLINE_DATABASE_URL", None)
        if database_url:
            env["WARMLINE_DATABASE_URL"] = database_url
        subprocess.run(
            [sys.executable, "-m", "warmline", "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(  # the message path includes retrieval over the demo help centre
            [sys.executable, "-m", "warmline", "kb", "import", str(DEMO_KNOWLEDGE)],
            env=env,
            check=True,
            capture_output=True,
        )
        command = [sys.executable, "-m", "warmline", "serve", "--port", str(self.port)]
        if run.workers > 1:
            command += ["--workers", str(run.workers)]
        self.log = open(workdir / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"server did not start: {(workdir / 'server.log').read_text()}")
        self.processes = _tree(psutil.Process(self.process.pid))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _locust(
    url: str, users: int, seconds: float, samples: Path, pace: float = 0.0
) -> subprocess.Popen[bytes]:
    """Locust's headless runner against `url`, writing each message's latency to `samples`."""
    env = {**os.environ, "LOAD_SAMPLES": str(samples), "LOAD_PACE": str(pace)}
    command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"]
    command += ["-u", str(users), "-r", str(users), "-t", f"{seconds:.0f}s", "--host", url]
    command += ["--only-summary", "--stop-timeout", "5", "--loglevel", "ERROR"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _postgres_processes(cluster: ThrowawayCluster) -> list[psutil.Process]:
    pid_file = cluster.data / "postmaster.pid"
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    return _tree(postmaster)


def measure(run: Run, cluster: ThrowawayCluster | None) -> Result:
    """One run: fresh database and server, Locust for `run.seconds` after a warm-up."""
    with tempfile.TemporaryDirectory(prefix="warmline-load-") as folder:
        workdir = Path(folder)
        database_url = None
        if run.store == "postgres":
            assert cluster is not None
            name = f"load_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f"CREATE DATABASE {name}"))
            admin.dispose()
            database_url = cluster.url.rsplit("/", 1)[0] + f"/{name}"
        server = Server(run, workdir, database_url)
        samples = workdir / "samples.txt"
        try:
            locust = _locust(server.url, run.users, WARM_UP + run.seconds, samples, run.pace)
            time.sleep(WARM_UP)
            database = _postgres_processes(cluster) if cluster else []
            cpu_before, db_before = _cpu(server.processes), _cpu(database)
            started = time.time()
            time.sleep(run.seconds)
            ended = time.time()
            cpu_after, db_after = _cpu(server.processes), _cpu(database)
            rss = _rss(server.processes)
            locust.wait(60)
        finally:
            server.stop()
        window = []
        for line in samples.read_text().splitlines():
            stamp, latency, status = line.split()
            if started <= float(stamp) <= ended:
                window.append((float(latency), int(status)))
        latencies = [latency for latency, status in window if status == 200]
        errors = sum(status != 200 for _, status in window)
        count = max(1, len(window))
        return Result(
            run=run,
            messages=len(window),
            per_second=len(latencies) / (ended - started),
            p50=_percentile(latencies, 0.50),
            p95=_percentile(latencies, 0.95),
            p99=_percentile(latencies, 0.99),
            errors=errors,
            cpu_ms=(cpu_after - cpu_before) * 1000 / count,
            db_cpu_ms=(db_after - db_before) * 1000 / count,
            rss_mb=rss,
        )


def plan(quick: bool) -> list[Run]:
    """Every run of the benchmark."""
    seconds = 8.0 if quick else 20.0
    runs = []
    for store, workers in (("sqlite", 1), ("postgres", 1), ("postgres", 2)):
        runs += [Run(store, workers, users, seconds=seconds) for users in (1, 10, 50, 200)]
        runs.append(Run(store, workers, 50, analyzer="constant", seconds=seconds))
    runs.append(Run("sqlite", 1, 50, pace=6.0, seconds=seconds))
    runs.append(Run("postgres", 2, 50, pace=6.0, seconds=seconds))
    return runs


def verdicts(results: list[Result]) -> list[tuple[bool, str]]:
    """PASS/FAIL lines against the issue's numbers."""
    found = {(r.run.store, r.run.workers, r.run.users): r for r in results if _plain(r.run)}
    lines = []
    for (store, workers, users), (rate, p99) in TARGETS.items():
        result = found.get((store, workers, users))
        if result is None:
            continue
        ok = result.per_second >= rate and result.p99 <= p99 and result.errors == 0
        lines.append(
            (
                ok,
                f"{result.run.label}, {users} conversations: {result.per_second:.0f} msg/s "
                f"(target >= {rate:.0f}), p99 {result.p99:.0f} ms (target <= {p99:.0f})",
            )
        )
    crowd = found.get(("postgres", 2, 200))
    if crowd is not None:
        ok = crowd.errors == 0 and crowd.p99 <= 500
        lines.append(
            (
                ok,
                f"PostgreSQL, 2 workers, 200 conversations: errors {crowd.errors}, "
                f"p99 {crowd.p99:.0f} ms (target 0 errors, p99 <= 500)",
            )
        )
    alone = found.get(("sqlite", 1, 1))
    if alone is not None:
        lines.append(
            (
                alone.p50 <= 10.0,
                f"one conversation alone (SQLite): p50 {alone.p50:.1f} "
                "ms end to end through HTTP (target <= 10)",
            )
        )
    return lines


def _plain(run: Run) -> bool:
    return run.analyzer == "models" and not run.pace


def soak(seconds: float) -> tuple[bool, str, list[tuple[float, float]]]:
    """50 conversations on SQLite for `seconds`: errors, and resident memory over time."""
    run = Run("sqlite", 1, 50, seconds=seconds)
    with tempfile.TemporaryDirectory(prefix="warmline-soak-") as folder:
        workdir = Path(folder)
        server = Server(run, workdir, None)
        samples = workdir / "samples.txt"
        memory: list[tuple[float, float]] = []
        try:
            locust = _locust(server.url, 50, seconds, samples)
            started = time.monotonic()
            while locust.poll() is None:
                memory.append((time.monotonic() - started, _rss(server.processes)))
                time.sleep(5)
        finally:
            server.stop()
        statuses = [int(line.split()[2]) for line in samples.read_text().splitlines()]
    errors = sum(status != 200 for status in statuses)
    # Growth from the end of the first minute (caches filled) to the end.
    settled = next((rss for t, rss in memory if t >= 60), memory[0][1])
    growth = (memory[-1][1] - settled) / settled
    ok = errors == 0 and growth <= 0.10
    line = (
        f"{seconds / 60:.0f}-minute soak, SQLite, 50 conversations: {len(statuses)} messages, "
        f"errors {errors}, RSS {settled:.0f} MB after 1 min -> {memory[-1][1]:.0f} MB at the "
        f"end ({growth:+.1%}; target 0 errors, <= +10%)"
    )
    return ok, line, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 s per run instead of 20 s")
    parser.add_argument("--soak", type=float, default=0.0, help="run only a soak of S seconds")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument("--only", default="", help="run only labels containing this text")
    args = parser.parse_args()
    today = dt.date.today().isoformat()
    if args.soak:
        ok, line, memory = soak(args.soak)
        print(("PASS  " if ok else "FAIL  ") + line, flush=True)
        if args.write_docs:
            trace = ", ".join(f"{t / 60:.0f} min {rss:.0f} MB" for t, rss in memory[::12])
            update_subsection(
                "Soak (bench_load.py --soak)",
                f"{today}, {MACHINE}.\n\n```\n{'PASS' if ok else 'FAIL'}  {line}\n```\n\n"
                f"Resident memory of the server along the way: {trace}.",
                section=SECTION,
            )
        return 0 if ok else 1
    results = []
    with ExitStack() as stack:
        cluster = ThrowawayCluster()
        cluster.start()
        stack.callback(cluster.remove)
        for run in plan(args.quick):
            if args.only and args.only not in f"{run.label}, {run.users}":
                continue
            result = measure(run, cluster if run.store == "postgres" else None)
            results.append(result)
            print(f"INFO  {result.line()}", flush=True)
    checks = verdicts(results)
    for ok, line in checks:
        print(("PASS  " if ok else "FAIL  ") + line, flush=True)
    if args.write_docs and not args.only:
        table = "\n".join(
            f"| {r.run.label} | {r.run.users} | {r.per_second:.0f} | {r.p50:.0f} | {r.p95:.0f} "
            f"| {r.p99:.0f} | {r.errors} | {r.cpu_ms:.1f}"
            + (f" + {r.db_cpu_ms:.1f}" if r.run.store == "postgres" else "")
            + f" | {r.rss_mb:.0f} |"
            for r in results
        )
        body = (
            f"{today}, {MACHINE}; Locust {_locust_version()} on the same machine. Each run: a "
            f"fresh database and server, {WARM_UP:.0f} s of warm-up, then "
            f"{results[0].run.seconds:.0f} s measured. Latency is per message, end to end "
            "through HTTP; CPU is the server's (and PostgreSQL's) per message.\n\n"
            "| configuration | conversations | msg/s | p50 ms | p95 ms | p99 ms | errors "
            "| CPU ms/msg | RSS MB |\n|---|---|---|---|---|---|---|---|---|\n"
            + table
            + "\n\n```\n"
            + "\n".join(("PASS  " if ok else "FAIL  ") + line for ok, line in checks)
            + "\n```"
        )
        update_subsection("Throughput and latency (bench_load.py)", body, section=SECTION)
    return 0 if all(ok for ok, _ in checks) else 1


def _locust_version() -> str:
    import locust

    return str(locust.__version__)


if __name__ == "__main__":
    sys.exit(main())
