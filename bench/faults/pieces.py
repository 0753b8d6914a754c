"""The stack's pieces started one by one for a fault check: a throwaway PostgreSQL, workers.

Unlike ``scripts/serve``, a check that kills or races single processes needs each one by
hand: ``Pieces`` starts a throwaway PostgreSQL (``scripts/testdb``) on 127.0.0.1, migrates it,
starts ``db_worker`` processes and ``manage.py`` commands against it, and on ``close()`` stops
every process it started and removes the database (and the logs, unless the check failed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Pieces:
    def __init__(self, pg_port: int, **env: str) -> None:
        self.pg_dir = tempfile.mkdtemp(prefix="fault-pg-")
        self.log_dir = Path(tempfile.mkdtemp(prefix="fault-logs-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
        self.env = {
            **base,
            "DATABASE_URL": f"postgres://postgres@{HOST}:{pg_port}/traded_training",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "TASKS_BACKEND": "database",
            "SECRET_KEY": "fault-check-not-secret-" + "x" * 40,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        subprocess.run(["scripts/testdb", "start", self.pg_dir, str(pg_port)], cwd=ROOT, check=True)
        with psycopg.connect(
            f"postgres://postgres@{HOST}:{pg_port}/postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE traded_training")
        self.manage("migrate", "--no-input")

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        """Start a process (a session of its own) writing to ``<log_dir>/<name>.log``."""
        with (self.log_dir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "manage.py", "db_worker", "--no-reload"]
        return self.start(name, command + ["--worker-id", name, "--interval", "0.2"])

    def helper(self, script: Path, *args: str) -> Any:
        """Run ``script --<flag> ...`` (a function of the check inside Django); its last
        line of output is JSON."""
        result = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def close(self, *, keep_logs: bool = False) -> None:
        """Stop every process started (SIGTERM, then SIGKILL after 15 s), remove the database,
        and the processes' logs unless ``keep_logs`` (a check that failed says where they are)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        subprocess.run(["scripts/testdb", "stop", self.pg_dir], cwd=ROOT, check=False)
        if keep_logs:
            print(f"the processes' logs are in {self.log_dir}", flush=True)
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)
