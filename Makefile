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

serve: $(STAMP)  ## validate, load and serve on http://127.0.0.1:8000
	$(BIN)/gros validate
	$(BIN)/gros serve --host 127.0.0.1 --port 8000

clean:
	rm -rf $(VENV) var dist
