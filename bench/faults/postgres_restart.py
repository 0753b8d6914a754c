#!/usr/bin/env python
"""Fault: PostgreSQL restarts under load. Requests fail politely, and the stack recovers alone.

Run from the project root:  .venv/bin/python bench/faults/postgres_restart.py

Starts ``scripts/serve`` (throwaway PostgreSQL, gunicorn, two task workers, the scheduler) on
127.0.0.1 and free ports, has 8 clients load the catalogue and ``/health/?scope=web`` without
pause, restarts PostgreSQL (``pg_ctl restart -m fast``: every connection is cut) while they
run, and keeps them going for 15 s after. It proves, and exits 1 unless:

- every answer during the outage was a 200 or the branded 503 page (no 500, no stack trace);
- within 10 s of PostgreSQL being back, every answer is a 200 again, with nobody touching
  anything (Django opens a new connection for the request after a broken one);
- gunicorn never died; a task worker that exits when its connection is cut (django-tasks-db's
  ``db_worker`` does) is started again by ``serve``, as systemd's ``Restart=always`` does in
  production; the script says which were.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.browser import Browser  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pg_ctl() -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return str(found[-1]) if found else "pg_ctl"


def as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


def main() -> int:
    web_port, pg_port = free_port(), free_port()
    log = Path(tempfile.mkdtemp(prefix="fault-pg-")) / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    command = [sys.executable, "scripts/serve", "--no-demo", "--port", str(web_port)]
    command += ["--pg-port", str(pg_port), "--web-workers", "2"]
    with log.open("wb") as out:
        serve = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    outcomes: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 300
        while "serve: serving on" not in log.read_text(errors="replace"):
            if serve.poll() is not None or time.monotonic() > deadline:
                print(log.read_text()[-3000:])
                return 1
            time.sleep(0.5)
        data_dir = re.search(r"PostgreSQL on \S+ in (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]

        def client(n: int) -> None:
            browser = Browser(web_port)
            paths = ["/", "/health/?scope=web"]
            while not stop.is_set():
                path = paths[n % 2]
                try:
                    status, _, body = browser.get(path)
                    if status == 503 and path == "/" and b"busy for a moment" not in body:
                        kind = "503 without the branded page"
                    elif status == 500 or b"Traceback" in body:
                        kind = "500"
                    else:
                        kind = str(status)
                except OSError as error:
                    kind = f"connection: {type(error).__name__}"
                with lock:
                    outcomes.append((time.monotonic(), kind))
                time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(5)
        down_at = time.monotonic()
        # The restarted server must not inherit a pipe of ours (run() would wait for it).
        restart = [pg_ctl(), "-D", f"{data_dir}/data", "-l", f"{data_dir}/server.log"]
        subprocess.run(
            as_owner([*restart, "-m", "fast", "-w", "restart"]),
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        back_at = time.monotonic()
        time.sleep(15)
        stop.set()
        for thread in threads:
            thread.join()
        still_running = serve.poll() is None
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)

    during = Counter(kind for at, kind in outcomes if down_at - 0.5 <= at <= back_at + 10)
    after = Counter(kind for at, kind in outcomes if at > back_at + 10)
    before = Counter(kind for at, kind in outcomes if at < down_at)
    print(f"before the restart: {dict(before)}")
    print(f"restart took {back_at - down_at:.1f} s; during it and 10 s after: {dict(during)}")
    print(f"from 10 s after it was back: {dict(after)}")
    impolite = {k: n for k, n in during.items() if k not in ("200", "503")}
    failures = []
    if set(before) != {"200"}:
        failures.append("answers were not all 200 before the restart")
    if impolite:
        failures.append(f"answers during the outage that were not 200 or the 503 page: {impolite}")
    if set(after) != {"200"}:
        failures.append(f"not recovered 10 s after PostgreSQL was back: {dict(after)}")
    if not still_running:
        failures.append("a process of the stack died (serve stopped):\n" + log.read_text()[-2000:])
    restarted = re.findall(
        r"serve: (.+?) exited with status \d+; starting it again", log.read_text()
    )
    print(f"restarted by serve (as systemd's Restart=always would): {restarted or 'none'}")
    for failure in failures:
        print("FAILED:", failure)
    if not failures:
        print(
            "proved: during a PostgreSQL restart requests got 200 or the branded 503 page, never "
            "a 500; every request was a 200 again within 10 s of the database being back; the "
            "web servers kept running; the task workers and scheduler kept (or came back to) work"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
