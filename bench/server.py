"""The benchmarks' gunicorn: on 127.0.0.1 and a free port, ready once it answers, and stopped
(with its workers) however the benchmark ends."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the only address a benchmark binds or connects to
STARTUP_TIMEOUT = 60.0  # seconds for gunicorn to answer its first request


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Gunicorn:
    """``config.wsgi`` served by gunicorn with ``env``, its output in ``log``; no access log."""

    def __init__(
        self, env: dict[str, str], *, workers: int, log: Path, worker_class: str = "sync"
    ) -> None:
        self.port = free_port()
        self.log = log
        config = log.parent / "gunicorn.conf.py"  # empty: ignore any ./gunicorn.conf.py
        config.write_text("")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--config",
            str(config),
            "--chdir",
            str(ROOT),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--timeout",
            "120",  # SQLite writers may wait up to 30 s for the lock
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
        with log.open("wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches the benchmark, which stops it
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_until_ready(self, path: str, body: bytes | None = None) -> None:
        """Until ``path`` answers 200 (with ``body``, when given)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise SystemExit(
                    f"gunicorn exited ({self.process.returncode}):\n{log_tail(self.log)}"
                )
            conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 200 and (body is None or answer == body):
                    return
                last_error = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as error:
                last_error = str(error)
            finally:
                conn.close()
            time.sleep(0.1)
        raise SystemExit(
            f"gunicorn did not answer in {STARTUP_TIMEOUT:.0f} s ({last_error}):\n"
            f"{log_tail(self.log)}"
        )

    def stop(self) -> None:
        if not self.running():
            return
        self.process.terminate()  # SIGTERM: the master stops its workers gracefully
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
