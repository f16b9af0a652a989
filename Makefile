# gros-kg: the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install validate test serve export bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its extras

validate: $(STAMP)  ## validate ontology + data against the shapes
	$(BIN)/gros validate

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest

serve: $(STAMP)  ## validate, load and serve on http://127.0.0.1:8000 (gros serve validates first)
	$(BIN)/gros serve --host 127.0.0.1 --port 8000

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
	$(PEERS)/bin/python bench/run.py --gros-venv $(VENV) $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) var dist
