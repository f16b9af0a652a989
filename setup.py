"""The one build step pyproject.toml cannot declare: put the content into the package.

The content folders (ontology/, data/, shapes/, queries/) sit at the top of the repository, where
people edit them and where `gros` reads them in a checkout; setuptools' package-data only takes
files inside a package. So building the package copies them into the built package as
gros/bundled/ (settings.py finds them there after `pip install`). They are copied at build time
into the build folder only - never into server/gros/ - so the repository keeps one copy of each
file. (data-files would install them outside the package, in a place that differs per
installation scheme and that code cannot find reliably.)

The browser assets (server/gros/web/static/build/, built by `make assets` with npm) are ordinary
package data; a wheel without them would serve pages with no map and no query editor, so the
build stops instead. The sdist carries both the content and the built assets (MANIFEST.in), so
building a wheel from it needs neither a checkout nor npm.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

HERE = Path(__file__).resolve().parent
CONTENT = ("ontology", "data", "shapes", "queries")
ASSETS = HERE / "server" / "gros" / "web" / "static" / "build"
NEEDED_ASSETS = ("map.js", "map.css", "query.js", "nuts-2021.json", "countries.json")


class BuildWithContent(build_py):
    def run(self):
        if not getattr(self, "editable_mode", False):  # an editable install reads the checkout itself
            self._check()
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "gros" / "bundled"
        shutil.rmtree(target, ignore_errors=True)
        for name in CONTENT:
            shutil.copytree(HERE / name, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", ".*", "*~"))

    def _check(self):
        missing = [name + "/" for name in CONTENT if not (HERE / name).is_dir()]
        if missing:
            raise FileError(f"cannot build gros-kg: the content folders {', '.join(missing)} are missing "
                            f"from {HERE}")
        absent = [name for name in NEEDED_ASSETS if not (ASSETS / name).is_file()]
        if absent:
            raise FileError(f"cannot build gros-kg: the browser assets {', '.join(absent)} are missing from "
                            f"{ASSETS}; build them first with `make assets` (needs npm), or use `make dist`")


setup(cmdclass={"build_py": BuildWithContent})
