"""One Settings object for the whole service, read from flags and the environment.

Only this module reads the environment.
"""
from __future__ import annotations

import os
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

from gros.errors import GrosError

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


class SettingError(GrosError):
    """An environment variable or flag holds a value the setting cannot take."""

    status = 500
    exit_code = 2


@dataclass(frozen=True)
class Setting:
    """How one setting is described and set: its help, its environment variable, its `gros serve` flag."""

    help: str
    env: str | None = None
    flag: str | None = None
    minimum: float | None = None
    metavar: str | None = None
    default_text: str | None = None  # for defaults worked out at run time


def setting(default=MISSING, help: str = "", *, env: str | None = None, flag: str | None = None,
            minimum: float | None = None, metavar: str | None = None, default_text: str | None = None,
            factory=MISSING, secret: bool = False):
    meta = {"setting": Setting(help, env, flag, minimum, metavar, default_text)}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Every setting of the package, declared once: name, type, default, environment variable,
    `gros serve` flag and help. The CLI builds its options from these declarations
    (`gros.cli.options`) and docs/settings.md is written from them (`markdown_table`)."""

    root: Path = setting(factory=_find_root, env="GROS_ROOT", metavar="FOLDER",
                         default_text="the checkout you are in, else the content packaged with gros (gros --version says which)",
                         help="Folder with ontology/, data/, shapes/ and queries/.")
    base_iri: str = setting(BASE_IRI, env="GROS_BASE_IRI", metavar="IRI",
                            help="Base of every IRI of the graph; the server answers for it at its own origin.")
    store_path: Path | None = setting(None, env="GROS_STORE", flag="--store", metavar="FOLDER",
                                      default_text="var/store in the content folder; for the packaged content, store/ in your user data folder",
                                      help="Folder of the on-disk store.")
    host: str = setting("127.0.0.1", env="GROS_HOST", flag="--host", help="Address to listen on.")
    port: int = setting(8000, env="GROS_PORT", flag="--port", minimum=1, help="Port to listen on.")
    query_timeout: float = setting(30.0, env="GROS_QUERY_TIMEOUT", flag="--query-timeout", minimum=0.1,
                                   metavar="SECONDS",
                                   help="Seconds a query or update may run before it is stopped (503).")
    timeout_penalty: float | None = setting(
        None, env="GROS_TIMEOUT_PENALTY", flag="--timeout-penalty", minimum=0, metavar="SECONDS",
        default_text="as long as --query-timeout; 0 when --host is a loopback address (one local user)",
        help="After a client's query is stopped at the time limit, refuse that address (429) this long, twice "
             "as long for each further stop within 10 minutes; 0 never.")
    update_token: str | None = setting(None, env="GROS_UPDATE_TOKEN", secret=True, metavar="TOKEN",
                                       help="The token that enables updates (Authorization: Bearer <token>); "
                                            "never printed.")
    update_token_file: Path | None = setting(None, env="GROS_UPDATE_TOKEN_FILE", metavar="FILE",
                                             help="A file of named update tokens, one `name:token` per line.")
    workers: int = setting(2, env="GROS_WORKERS", flag="--workers", minimum=1,
                           help="Serving processes; each answers HTTP and runs read queries itself.")
    query_threads: int = setting(4, env="GROS_QUERY_THREADS", flag="--query-threads", minimum=1,
                                 help="Queries one serving process runs at once.")
    queue_timeout: float = setting(2.0, env="GROS_QUEUE_TIMEOUT", minimum=0, metavar="SECONDS",
                                   help="How long a query waits for a free query thread before 503.")
    cache_bytes: int = setting(64 * 1024 * 1024, env="GROS_CACHE_BYTES", flag="--cache-bytes", minimum=0,
                               metavar="BYTES",
                               help="Answers kept per serving process for the current revision (any write "
                                    "drops them); 0 keeps none.")
    max_rows: int = setting(100_000, env="GROS_MAX_ROWS", flag="--max-rows", minimum=0,
                            help="Most result rows (or triples) per response; 0 for no limit.")
    max_body: int = setting(10 * 1024 * 1024, env="GROS_MAX_BODY", flag="--max-body", minimum=1024, metavar="BYTES",
                            help="Largest request body in bytes (413 above).")
    allow_service: tuple[str, ...] = setting((), env="GROS_ALLOW_SERVICE", flag="--allow-service", metavar="IRI",
                                             help="An endpoint that SERVICE may contact (repeatable; space-separated "
                                                  "in the variable; none by default; LOAD is never run).")
    rate_queries: float = setting(0.0, env="GROS_RATE_QUERIES", flag="--rate-queries", minimum=0, metavar="N",
                                  help="Reads a second per client address (429 with Retry-After above); 0 for no limit.")
    rate_writes: float = setting(0.0, env="GROS_RATE_WRITES", flag="--rate-writes", minimum=0, metavar="N",
                                 help="Writes (updates, Graph Store PUT/POST/DELETE) a second per client address; "
                                      "0 for no limit.")
    rate_burst_seconds: float = setting(5.0, env="GROS_RATE_BURST", flag="--rate-burst", minimum=0, metavar="SECONDS",
                                        help="How many seconds' worth of requests a client may send at once.")
    remote_query: str | None = setting(None, env="GROS_REMOTE_QUERY", flag="--remote-query", metavar="URL",
                                       help="Run on a remote SPARQL 1.1 store instead of the embedded one: its "
                                            "query endpoint (docs/remote-stores.md).")
    remote_update: str | None = setting(None, env="GROS_REMOTE_UPDATE", flag="--remote-update", metavar="URL",
                                        help="The remote store's update endpoint (needed to load the content and "
                                             "for updates).")
    remote_graph_store: str | None = setting(
        None, env="GROS_REMOTE_GRAPH_STORE", flag="--remote-graph-store", metavar="URL",
        help="The remote store's Graph Store Protocol endpoint (optional: content files are then loaded with one "
             "PUT each).")
    remote_refresh: float = setting(1.0, env="GROS_REMOTE_REFRESH", minimum=0, metavar="SECONDS",
                                    help="Seconds a front end trusts its cached revision of a remote store.")
    store_reopen_every: int = setting(200, env="GROS_STORE_REOPEN_EVERY", minimum=1,
                                      help="Writes between reopens of the embedded store (RocksDB's MANIFEST grows "
                                           "with every write until the store is reopened).")
    # What a page works on at most, so that the pages' memory and time follow these, not the size of the data.
    page_items: int = setting(500, env="GROS_PAGE_ITEMS", minimum=1,
                              help="Bodies on the map, events on the timeline, per page.")
    page_sort_max: int = setting(20_000, env="GROS_PAGE_SORT_MAX", minimum=0,
                                 help="Longer lists (class members, bodies) come in storage order, not by name.")
    search_max: int = setting(1000, env="GROS_SEARCH_MAX", minimum=1,
                              help="Matching texts a search ranks; beyond that it says \"more than\" and ranks "
                                   "the best of those.")

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "Settings":
        """Defaults, then the environment, then `overrides` (the flags; None means not given)."""
        environ = os.environ if environ is None else environ
        values = {}
        for name, declared in declarations().items():
            raw = environ.get(declared.env) if declared.env else None
            if raw:
                values[name] = convert(name, raw, f"the environment variable {declared.env}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def penalty_seconds(self) -> float:
        """What a first stop at the time limit costs its client (penalties.py)."""
        if self.timeout_penalty is not None:
            return self.timeout_penalty
        # Bound to loopback only, the one client is the user of this machine: a wait after a
        # stop would only hold up their next, corrected query.
        return 0.0 if self.loopback else self.query_timeout

    @property
    def loopback(self) -> bool:
        """Whether the server listens on a loopback address only."""
        import ipaddress

        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def remote(self) -> bool:
        """Whether the service runs on a remote SPARQL store rather than the embedded one."""
        return self.remote_query is not None

    # Content folders (docs/architecture.md).
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


# --- the declarations, for the CLI, the environment and the docs -------------------------------

def declarations() -> dict[str, Setting]:
    return {f.name: f.metadata["setting"] for f in fields(Settings)}


def kind(name: str):
    """The plain type of a setting (Path, str, int, float or tuple) without `| None`."""
    hint = typing.get_type_hints(Settings)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return tuple
    return args[0] if args else hint


def convert(name: str, raw: str, where: str):
    """`raw` as the setting's type; a value it cannot take is a SettingError naming `where` and the value."""
    declared = declarations()[name]
    target = kind(name)
    try:
        if target is tuple:
            return tuple(raw.split())
        value = target(raw)
    except ValueError:
        wanted = {int: "a whole number", float: "a number"}.get(target, target.__name__)
        raise SettingError(f"{where} is {raw!r}, but {name} must be {wanted}") from None
    if declared.minimum is not None and value < declared.minimum:
        raise SettingError(f"{where} is {raw!r}, but {name} must be at least {declared.minimum:g}")
    return value


def default_text(name: str) -> str:
    declared = declarations()[name]
    if declared.default_text:
        return declared.default_text
    value = next(f.default for f in fields(Settings) if f.name == name)
    if value is None or value == ():
        return "none"
    return f"{value:,}".replace(",", " ") if isinstance(value, int) and value >= 10_000 else str(value)


def markdown_table() -> str:
    """docs/settings.md's table (a test checks the file holds it)."""
    lines = ["| setting | environment | `gros serve` flag | default | what it sets |", "|---|---|---|---|---|"]
    for name, declared in declarations().items():
        flag = f"`{declared.flag}`" if declared.flag else ""
        lines.append(f"| `{name}` | `{declared.env}` | {flag} | {default_text(name)} | {declared.help} |")
    return "\n".join(lines) + "\n"
