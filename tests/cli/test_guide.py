"""docs/integrating-your-data.md, followed as a reader would: every ```sh and ```python block, in
order, from a fresh working folder that holds only the guide's example files.

Blocks marked ```text are output or commands that do not end (gros serve) and are not run here;
serving a loaded store is tested in test_research_api.py. `make install` is what made the
environment this test runs in, so it is checked, not run again.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integrating-your-data.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)
BIN = Path(sys.executable).parent


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def test_the_guide_has_commands_and_python_to_run():
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("sh") >= 4 and kinds.count("python") >= 3


def test_the_examples_are_marked_illustrative():
    csv = (ROOT / "docs" / "examples" / "commuters-illustrative.csv").read_text(encoding="utf-8").splitlines()
    assert all("ILLUSTRATIVE" in line for line in csv[1:])
    assert "illustrative" in GUIDE.read_text(encoding="utf-8").lower()


def test_a_reader_gets_from_the_csv_to_a_joined_result(tmp_path):
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
    env["GROS_ROOT"] = str(ROOT)  # the checkout the reader works in; the files they make stay in tmp_path
    outputs = []
    for kind, code in blocks():
        if kind == "python":
            done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                                  timeout=300)
            assert done.returncode == 0, f"python block failed:\n{code}\n{done.stderr.decode()}"
            outputs.append(done.stdout.decode())
            continue
        for line in code.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.strip() == "make install":
                assert (BIN / "gros").is_file()
                continue
            command = line.replace(".venv/bin/", f"{BIN}/")
            done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, timeout=300)
            assert done.returncode == 0, f"{line}\n{done.stdout.decode()}\n{done.stderr.decode()}"
            outputs.append(done.stdout.decode())
    text = "\n".join(outputs)
    # The joined table: the invented number of the CSV next to our name of the province and our bodies.
    assert re.search(r"Limburg \(Netherlands\)\s+5200\s+11\s+.*Euregio Meuse-Rhine", text), text
    # The Python blocks print the same join, from the store and from gros.load().
    assert text.count("Limburg (Netherlands) 5200 11") == 2, text
    assert (tmp_path / "commuters.ttl").is_file() and (tmp_path / "var" / "research").is_dir()
