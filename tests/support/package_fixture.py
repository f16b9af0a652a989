"""The package as a researcher gets it: built once per test run from this checkout, and
installed into a fresh virtual environment in an empty folder, with no checkout in sight.

Registered in conftest.py (`pytest_plugins`). Fixtures (session; built only when a test asks):

- `built_package`: a folder with the wheel and the sdist, built as `make dist` builds them
  (`python -m build`: the sdist first, then the wheel from the sdist, in an isolated environment).
  Once per run, also when pytest-xdist runs the tests in several processes (`make test`): the
  first process that needs it builds it under a file lock, the others wait and use it. Tests
  only read it;
- `installed`: an `Installed` - a fresh venv with `gros-kg[research]` installed from that wheel
  (dependencies from the package index, as for any user), an empty working folder, and an
  environment without GROS_* variables whose HOME is a temporary folder (the store of the packaged
  content goes to the user's data folder) and whose PATH is the venv's bin folder alone (no Node.js).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from gros.publish.release import build_packages

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Installed:
    venv: Path
    work: Path  # the empty folder the commands run in
    home: Path
    wheel: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def gros(self) -> Path:
        return self.venv / "bin" / "gros"

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=cwd or self.work, env={**self.env, **env},
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def built_package(tmp_path_factory) -> Path:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the tests run in one process
        out = tmp_path_factory.mktemp("dist")
        build_packages(ROOT, out)
        return out
    # Each pytest-xdist worker runs the session fixtures for itself; the wheel is built once for
    # all of them, in the temporary folder they share (the parent of each worker's own). Two
    # builds at once would also share the checkout's build folders (build/, *.egg-info).
    shared = tmp_path_factory.getbasetemp().parent
    out, built = shared / "dist", shared / "dist.built"
    with FileLock(shared / "dist.lock"):
        if not built.exists():
            shutil.rmtree(out, ignore_errors=True)  # left by a build that failed
            out.mkdir()
            build_packages(ROOT, out)
            built.touch()
    return out


@pytest.fixture(scope="session")
def installed(built_package, tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("researcher")
    venv, work, home = base / "venv", base / "work", base / "home"
    work.mkdir()
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GROS_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "XDG_DATA_HOME")}
    # The commands find only the venv's programs: no node or npm (the machine running the tests
    # has them, for make assets), so anything that reached for them at run time would fail here.
    env.update(HOME=str(home), PATH=str(venv / "bin"))
    wheel = next(built_package.glob("gros_kg-*.whl"))
    # pip keeps the real HOME, so that its download cache serves the dependencies again, and the
    # real PATH, in case a dependency has to be built from source on this platform.
    # --no-compile: byte-compiling every dependency (pandas, numpy, rdflib...) is half the install's
    # CPU time; what the tests import is compiled when they first import it.
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", f"{wheel}[research]"],
                          cwd=work, env={**env, "HOME": os.environ.get("HOME", str(home)),
                                         "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Installed(venv=venv, work=work, home=home, wheel=wheel, env=env)
