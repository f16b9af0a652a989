"""`gros` commands run in the test process with click's CliRunner, for tests of what a command
prints and how it exits: the same code as the console script, without starting a Python process
(a second or more each on a loaded machine). Tests where the process itself matters (serve,
signals, a terminal, locks on a store held by another process, the installed console script) run
`gros` as a subprocess instead.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from gros.cli.main import main


@dataclass
class Ran:
    """What a command did, shaped like subprocess.CompletedProcess (bytes, as without text=True)."""
    returncode: int
    stdout: bytes
    stderr: bytes


def run_gros(*args: str, cwd: Path | None = None) -> Ran:
    """Run `gros ARGS` in this process; stdout and stderr apart. An exception that the command does
    not turn into a message and an exit code fails the test with its traceback."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        # The caller's GROS_* settings stay out, as they stay out of the servers the tests start.
        env = {k: None for k in os.environ if k.startswith("GROS_")}
        result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes or b"")
