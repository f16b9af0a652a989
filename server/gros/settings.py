"""One Settings object for the whole service, read from flags and the environment.

Only this module reads the environment (DESIGN.md, habits).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

BASE_IRI = "https://w3id.org/gros/"


#: The content folders a root holds.
CONTENT_FOLDERS = ("ontology", "data", "shapes", "queries")
#: The content inside an installed wheel: setup.py copies ontology/, data/, shapes/ and queries/
#: here at build time, so `pip install gros-kg` works without a checkout. Absent in a checkout.
PACKAGED_ROOT = Path(__file__).resolve().parent / "bundled"


def _is_content(folder: Path) -> bool:
    return all((folder / name).is_dir() for name in CONTENT_FOLDERS)


def _find_root() -> Path:
    """The folder holding ontology/, data/, shapes/ and queries/, in this order:

    1. GROS_ROOT (or --root, which overrides this default): any content folder, said explicitly;
    2. the nearest folder, from the working directory up, that holds the four content folders:
       a `gros` command run inside a checkout uses that checkout's files, whatever is installed;
    3. the checkout this package runs from (an editable install: server/gros/ next to pyproject.toml);
    4. the content packaged in the wheel (gros/bundled/).
    """
    env = os.environ.get("GROS_ROOT")
    if env:
        return Path(env).resolve()
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if _is_content(folder):
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and _is_content(checkout):
        return checkout
    if _is_content(PACKAGED_ROOT):
        return PACKAGED_ROOT
    return checkout  # nothing found: the errors name the missing checkout folders


def _user_data_dir() -> Path:
    """Where a user's own files go on this system (the XDG base directories on Linux). Three
    lines, so no dependency (platformdirs) for it."""
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "gros-kg"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Application Support" / "gros-kg"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "gros-kg"


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=_find_root)
    base_iri: str = BASE_IRI
    store_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout: float = 30.0
    # Seconds a client whose query was stopped at the time limit waits before its next request
    # (penalties.py); None: as long as the time limit; 0: never.
    timeout_penalty: float | None = None
    update_token: str | None = field(default=None, repr=False)  # never printed (tokens.py)
    update_token_file: Path | None = None  # named tokens, one `name:token` per line (tokens.py)
    workers: int = 2                 # query worker processes = queries running at once
    queue_timeout: float = 2.0       # how long a query waits for a free worker before 503
    max_rows: int = 100_000          # result rows (or triples) per response; 0 = no limit
    max_body: int = 10 * 1024 * 1024  # bytes per request body (413 above)
    allow_service: tuple[str, ...] = ()  # endpoints SERVICE/LOAD may contact
    rate_queries: float = 0.0        # reads per second per client (token bucket); 0 = no limit
    rate_writes: float = 0.0         # writes per second per client; 0 = no limit
    rate_burst_seconds: float = 5.0  # a client may save up this many seconds' worth of requests
    # A remote SPARQL 1.1 store instead of the embedded one (remote.py, docs/remote-stores.md).
    remote_query: str | None = None        # its query endpoint
    remote_update: str | None = None       # its update endpoint
    remote_graph_store: str | None = None  # its Graph Store Protocol endpoint (optional)
    remote_refresh: float = 1.0  # seconds a front end trusts its cached revision of a remote store
    store_reopen_every: int = 200  # writes between reopens of the embedded store (store.py: RocksDB's MANIFEST)
    # What a page works on at most, so that the pages' memory and time follow these, not the
    # size of the data (issue 7; reader.py, search.py, catalogue.py, maps.py, timeline.py).
    page_items: int = 500          # bodies on the map, events on the timeline, per page
    page_sort_max: int = 20_000    # longer lists (class members, bodies) come in storage order, not by name
    search_max: int = 1000         # matching texts a search ranks; beyond: "more than", best of those

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values = {}
        if os.environ.get("GROS_BASE_IRI"):
            values["base_iri"] = os.environ["GROS_BASE_IRI"]
        if os.environ.get("GROS_UPDATE_TOKEN"):
            values["update_token"] = os.environ["GROS_UPDATE_TOKEN"]
        if os.environ.get("GROS_UPDATE_TOKEN_FILE"):
            values["update_token_file"] = Path(os.environ["GROS_UPDATE_TOKEN_FILE"])
        if os.environ.get("GROS_STORE"):
            values["store_path"] = Path(os.environ["GROS_STORE"])
        for name in ("remote_query", "remote_update", "remote_graph_store"):
            if os.environ.get(f"GROS_{name.upper()}"):
                values[name] = os.environ[f"GROS_{name.upper()}"]
        if os.environ.get("GROS_STORE_REOPEN_EVERY"):
            values["store_reopen_every"] = int(os.environ["GROS_STORE_REOPEN_EVERY"])
        for name in ("page_items", "page_sort_max", "search_max"):
            if os.environ.get(f"GROS_{name.upper()}"):
                values[name] = int(os.environ[f"GROS_{name.upper()}"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def penalty_seconds(self) -> float:
        """What a first stop at the time limit costs its client (penalties.py)."""
        return self.query_timeout if self.timeout_penalty is None else self.timeout_penalty

    @property
    def remote(self) -> bool:
        """Whether the service runs on a remote SPARQL store rather than the embedded one."""
        return self.remote_query is not None

    # Content folders (DESIGN.md layout).
    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def packaged(self) -> bool:
        """Whether this run uses the content inside the installed package (no checkout)."""
        return self.root.resolve() == PACKAGED_ROOT

    @property
    def content_in_use(self) -> str:
        """Which content this run reads, in one line (gros --version, the start-up log)."""
        if self.packaged:
            from importlib.metadata import version  # the installed wheel's (gros imports layers)

            return f"the content packaged with gros-kg {version('gros-kg')} ({self.root})"
        if (self.root / "pyproject.toml").is_file():
            return f"the checkout at {self.root}"
        return f"the content folder {self.root}"

    @property
    def default_store(self) -> Path:
        # The packaged content lives in site-packages, which is no place for a database (often
        # read-only, and gone on upgrade): its store goes to the user's data folder instead.
        if self.packaged:
            return _user_data_dir() / "store"
        return self.root / "var" / "store"

    @property
    def id_base(self) -> str:
        return self.base_iri + "id/"

    @property
    def graph_base(self) -> str:
        return self.base_iri + "graph/"
