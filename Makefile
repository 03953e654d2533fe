# The two set-up commands of the README. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= demo/pulsetwin.duckdb
STAMP := $(VENV)/.installed
# `make demo DEMO_FLAGS=--no-serve` runs the job without serving the dashboard at the end.
DEMO_FLAGS ?=

.PHONY: demo test lint typecheck install browser clean bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p demo
	rm -f $(DB) $(DB).wal $(DB).anchors.jsonl $(DB).digest.key  # a new store starts a new anchor file and key
	$(BIN)/pulsetwin demo --db $(DB) --out demo --scenario-spec examples/scenario_patrol_topk.yaml $(DEMO_FLAGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's Chromium for the dashboard tests (a no-op when it is already there).
browser:
	sh scripts/install-browser.sh

test: lint typecheck browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# A screenshot of every dashboard page in Dutch and English (after `make demo`) into demo/screenshots/.
screenshots: $(STAMP) browser
	$(BIN)/python scripts/screenshots.py --db $(DB) --documents demo/documents --out demo/screenshots

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
