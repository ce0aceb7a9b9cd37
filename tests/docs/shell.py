"""One bash process that runs a document's commands in order, keeping its state.

Commands run as a user types them at one prompt: ``export`` and ``cd`` carry over from one
command to the next. Each command's stdout and stderr are captured together, with its exit
status.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    status: int
    output: str


class Shell:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._scratch = cwd / ".transcript"
        self._scratch.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, command: str, timeout: float = 300) -> Result:
        """Run ``command`` to completion; its output and exit status."""
        out = self._scratch / "out"
        marker = f"__done_{uuid.uuid4().hex}__"
        script = f"{{\n{command}\n}} </dev/null >{out} 2>&1\necho {marker}$?\n"
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(script)
        self._process.stdin.flush()
        while True:
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"the shell exited while running: {command}")
            if line.startswith(marker):
                status = int(line[len(marker) :].strip())
                return Result(status, out.read_text(errors="replace"))

    def start(self, command: str) -> None:
        """Start ``command`` in the background (its output goes to a log file)."""
        log = self._scratch / f"background-{uuid.uuid4().hex[:8]}.log"
        self.run(f"( {command} ) >{log} 2>&1 &")

    def close(self) -> None:
        """Stop the shell and everything it started (its whole process group)."""
        try:
            os.killpg(self._process.pid, 15)
            self._process.wait(timeout=20)
        except ProcessLookupError:
            self._process.wait()  # already gone: reap it
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, 9)
            self._process.wait()
        finally:
            for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
                if stream is not None:
                    stream.close()
