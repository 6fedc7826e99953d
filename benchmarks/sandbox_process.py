"""``dhispatch sandbox`` in a subprocess for the benchmarks: its own interpreter (so it never
competes with the measuring client for the GIL), optionally from another checkout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PASSWORD = "bench-Passw0rd!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SandboxProcess:
    """A sandbox serving ``metadata`` (a file) with user admin, until ``stop``.

    ``checkout`` runs the sandbox of another source tree (its ``dhispatch`` package first on
    ``PYTHONPATH``), e.g. the main branch, to compare two versions in one run.
    """

    def __init__(
        self,
        metadata: Path,
        data: Path | None = None,
        checkout: Path | None = None,
        version: str = "2.40",
        latency_ms: int = 0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        env = dict(os.environ)
        if checkout is not None:
            env["PYTHONPATH"] = str(checkout)
        args = [sys.executable, "-m", "dhispatch.runtime.cli.main", "sandbox", "--metadata",
                str(metadata), "--port", str(self.port), "--user", f"admin:{PASSWORD}",
                "--version", version]  # fmt: skip
        if data is not None:
            args += ["--data", str(data)]
        if latency_ms:  # every request waits this long first: a server slower than this one
            args += ["--latency-ms", str(latency_ms)]
        # Run from the metadata's directory: ``python -m`` puts the working directory first on
        # sys.path, so a checkout's own dhispatch/ there would shadow PYTHONPATH.
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=metadata.parent
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/system/info", auth=("admin", PASSWORD), timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("sandbox did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
