#!/usr/bin/env python
"""Benchmark for issues 2 and 15: the catalogue and session pages against a hello-world view.

Run from the project root:  .venv/bin/python bench/catalogue.py  [--help for the options]

In one run it
  1. makes a throwaway SQLite database in a temporary directory (never var/db.sqlite3),
     runs ``manage.py migrate`` and ``manage.py demo --quiet-logins`` against it;
  2. starts gunicorn on 127.0.0.1 (a free port) with ``bench.bench_settings``: the project's
     settings whose URLconf (``bench.hello_urls``) is the project's plus ``hello/``, a view
     returning "hello" through the same middleware;
  3. waits until it answers, warms the URLs up, then loads ``/``, ``/hello/`` and one session
     page (``/sessions/<pk>/``, the catalogue's first) in turn from threads in this process,
     each thread with its own http.client connection, reading the server's CPU time (the
     gunicorn master and its workers, from /proc) before and after each URL;
  4. does it twice: with the page cache off (``PAGE_CACHE_SECONDS=0``: every page rendered
     afresh), then on (repeat visits while nothing changes, served from the database cache,
     the shared cache production uses);
  5. stops gunicorn and removes the temporary directory, whatever happened.

Any response other than 200 (or a connection error) is an error: they are printed and the
exit status is 1. On success the last line is (one line, wrapped here)
    catalogue: catalogue_rps=N hello_rps=N ratio=N catalogue_cpu_ms=N cached_cpu_ms=N
    session_cpu_ms=N
where catalogue_rps is the uncached catalogue's, ratio = catalogue_rps / hello_rps (1.00 would
mean the catalogue costs no more than an empty Django view), and the *_cpu_ms are the server's
CPU per request: the catalogue uncached, the catalogue cached, the session page uncached.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, the project root is not on the path

from bench.cpu import tree_cpu_seconds  # noqa: E402
from bench.server import HOST, Gunicorn, log_tail  # noqa: E402

REQUEST_TIMEOUT = 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second of the catalogue page (/) and of a Django hello-world "
        "view, served by gunicorn on 127.0.0.1 from a throwaway demo database."
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (default sync)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent client threads (default 8)"
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of load per URL (default 5)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="requests per client per URL; when given, replaces --duration",
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of warm-up per URL (default 1)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="serve with DEBUG=true (default: DEBUG=false)"
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="the server's DB_CONN_MAX_AGE: seconds a worker keeps its database connection "
        "(default 60, production's default; 0 opens one per request)",
    )
    args = parser.parse_args(argv)
    for name in ("workers", "clients"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.requests < 0 or args.duration <= 0 or args.warmup < 0 or args.conn_max_age < 0:
        parser.error("--requests, --duration, --warmup and --conn-max-age must not be negative")
    return args


def child_env(database: Path, *, settings_module: str, debug: bool) -> dict[str, str]:
    """The developer's environment with everything the benchmark depends on pinned."""
    env = dict(os.environ)
    pinned = {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"sqlite:///{database}",  # database is absolute: sqlite:////tmp/...
        "DJANGO_ENV": "development",  # the demo command refuses production
        "DEBUG": "true" if debug else "false",
        "ALLOWED_HOSTS": HOST,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    for name in pinned:
        env.pop(f"{name}_FILE", None)  # config.env refuses NAME together with NAME_FILE
    env.pop("GUNICORN_CMD_ARGS", None)
    env.update(pinned)
    return env


def manage(env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(arguments)} failed ({result.returncode})")
    return result.stdout.strip()


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Result:
    responses: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """The server's CPU per request, in milliseconds."""
        return 1000 * self.server_cpu / self.responses if self.responses else 0.0


def load(port: int, path: str, clients: int, *, seconds: float = 0.0, count: int = 0) -> Result:
    """``clients`` threads GET ``path``: ``count`` times each, or else for ``seconds``.

    Each thread keeps one http.client connection; it reconnects by itself when the server
    closes it (gunicorn's sync workers close after every response).
    """
    result = Result()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        responses = 0
        errors: Counter[str] = Counter()
        start.wait()
        try:
            while (responses < count) if count else (time.perf_counter() < deadline[0]):
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        errors[f"HTTP {response.status}"] += 1
                except (OSError, http.client.HTTPException) as error:
                    errors[type(error).__name__] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                responses += 1
        finally:
            conn.close()
            with lock:
                result.responses += responses
                result.errors.update(errors)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    result.client_cpu = time.process_time() - cpu_before
    return result


def start_server(args: argparse.Namespace, database: Path, tmp: Path, *, cached: bool) -> Gunicorn:
    server_env = child_env(database, settings_module="bench.bench_settings", debug=args.debug)
    # The shared cache production uses (one table in the same database), not a memory cache
    # per worker: a cached page then costs the read of its entry, as it does in production.
    server_env["CACHE_BACKEND"] = "database"
    server_env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    if not cached:
        server_env["PAGE_CACHE_SECONDS"] = "0"  # every page rendered afresh
    log = tmp / f"gunicorn-{'cached' if cached else 'uncached'}.log"
    return Gunicorn(server_env, workers=args.workers, log=log, worker_class=args.worker_class)


def measure(
    args: argparse.Namespace,
    server: Gunicorn,
    port: int,
    targets: list[tuple[str, str]],
    label: str,
) -> dict[str, Result]:
    for name, path in targets:
        status, body = get(port, path)
        print(f"{label} {name} {path}: HTTP {status}, {len(body):,} bytes")
        if status != 200:
            raise SystemExit(f"{path} answered {status}; not benchmarking an error page")
        if args.warmup:
            load(port, path, args.clients, seconds=args.warmup)
    results: dict[str, Result] = {}
    for name, path in targets:
        cpu_before = tree_cpu_seconds(server.pid)
        result = load(port, path, args.clients, seconds=args.duration, count=args.requests)
        result.server_cpu = tree_cpu_seconds(server.pid) - cpu_before
        results[name] = result
        errors = ", ".join(f"{kind} x{n}" for kind, n in sorted(result.errors.items()))
        print(
            f"{label} {name} {path}: {result.responses} requests in {result.seconds:.2f} s = "
            f"{result.rps:.1f} rps, errors: {sum(result.errors.values())}"
            f"{' (' + errors + ')' if errors else ''}, server CPU {result.cpu_ms:.2f} ms per "
            f"request, client CPU {result.client_cpu:.2f} s"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` should still stop gunicorn and remove the temporary directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    tmp = Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    server: Gunicorn | None = None
    try:
        database = tmp / "bench.sqlite3"
        setup_env = child_env(database, settings_module="config.settings", debug=args.debug)
        started = time.perf_counter()
        manage(setup_env, "migrate", "--noinput", "--verbosity", "0")
        demo_output = manage(setup_env, "demo", "--quiet-logins")
        print(
            f"database: {database} ({time.perf_counter() - started:.1f} s to migrate and "
            f"load) {demo_output}"
        )
        mode = (
            f"{args.requests} requests per client"
            if args.requests
            else f"{args.duration:g} s per URL"
        )
        results: dict[str, Result] = {}
        for cached in (False, True):
            label = "cached" if cached else "uncached"
            server = start_server(args, database, tmp, cached=cached)
            server.wait_until_ready("/hello/", b"hello")
            port, log = server.port, server.log
            print(
                f"gunicorn ({label}): {HOST}:{port}, {args.workers} {args.worker_class} "
                f"worker(s), DEBUG={'true' if args.debug else 'false'}, "
                f"DB_CONN_MAX_AGE={args.conn_max_age}; client: {args.clients} "
                f"threads, {mode}, {args.warmup:g} s warm-up per URL; load average "
                f"{os.getloadavg()[0]:.1f}"
            )
            _, front = get(port, "/")
            first = re.search(rb'href="(/sessions/[0-9]+/)"', front)
            if first is None:
                raise SystemExit("The catalogue lists no session to measure.")
            targets = [("catalogue", "/"), ("session", first.group(1).decode())]
            if not cached:
                targets.insert(1, ("hello", "/hello/"))
            measured = measure(args, server, port, targets, label)
            results.update({f"{label} {name}": result for name, result in measured.items()})
            if not server.running():
                raise SystemExit(f"gunicorn died during the run:\n{log_tail(log)}")
            failed = {name: r.errors for name, r in measured.items() if r.errors}
            if failed:
                print(f"gunicorn log (last lines):\n{log_tail(log)}")
                summary = "; ".join(
                    f"{name}: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(errors.items()))
                    for name, errors in failed.items()
                )
                print(f"FAILED: non-200 responses or connection errors: {summary}")
                return 1
            server.stop()
            server = None
        catalogue, hello = results["uncached catalogue"], results["uncached hello"]
        ratio = catalogue.rps / hello.rps if hello.rps else 0.0
        print(
            f"cached: catalogue_rps={results['cached catalogue'].rps:.1f} "
            f"session_rps={results['cached session'].rps:.1f} "
            f"session_cpu_ms={results['cached session'].cpu_ms:.2f}; "
            f"uncached session_rps={results['uncached session'].rps:.1f}; "
            f"hello_cpu_ms={hello.cpu_ms:.2f}"
        )
        print(
            f"catalogue: catalogue_rps={catalogue.rps:.1f} hello_rps={hello.rps:.1f} "
            f"ratio={ratio:.2f} catalogue_cpu_ms={catalogue.cpu_ms:.2f} "
            f"cached_cpu_ms={results['cached catalogue'].cpu_ms:.2f} "
            f"session_cpu_ms={results['uncached session'].cpu_ms:.2f}"
        )
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
