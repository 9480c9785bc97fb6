"""gunicorn serving the product in its own process group, for tests that kill its workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from wangge.proof.faults.postgres import free_port
from wangge.proof.faults.site import PYTHON, ROOT


class Gunicorn:
    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 2):
        self.port = free_port()
        self.log = log
        cmd = [
            PYTHON,
            "-m",
            "gunicorn",
            "wangge.wsgi:application",
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--graceful-timeout",
            "2",
            "--log-level",
            "warning",
        ]
        with log.open("ab") as out:
            # A session of its own: teardown can signal the master and every worker at once.
            self.proc = subprocess.Popen(  # noqa: S603 — our interpreter, fixed arguments
                cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.workers = workers

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the port accepts connections and every worker has booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if len(self.worker_pids()) == self.workers:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready on :{self.port}:\n{self.tail()}")

    def worker_pids(self) -> list[int]:
        """The master's children, from /proc (no psutil)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …: comm may hold spaces, so split after its closing bracket.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Workers outlive a master killed hard; end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
