# TechMatch: `make run` serves on http://127.0.0.1:8000, `make test` runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench soak fuzz lint typecheck audit templates clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, exactly this CPU build (from local disk); otherwise pip pulls a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/techmatch serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check matching service tests
	$(BIN)/ruff format --check matching service tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Known vulnerabilities in the dependencies (needs pypi.org's per-version JSON API or OSV).
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable --strict

CSL_BENCH ?= ../shared/data/csl-bench

bench: $(STAMP)
	$(BIN)/techmatch bench import
	@if [ -d "$(CSL_BENCH)" ]; then \
		$(BIN)/techmatch bench quality --corpus $(CSL_BENCH)/corpus.jsonl \
			--queries $(CSL_BENCH)/queries.jsonl --qrels $(CSL_BENCH)/qrels/dev.tsv; \
	else echo "skipping bench quality: $(CSL_BENCH) not found (set CSL_BENCH=...)"; fi
	@if [ -d "$(CSL_BENCH)" ]; then \
		CSL_BENCH=$(CSL_BENCH) $(BIN)/python -m matching.benchmarks.notebook notebooks/ranking.ipynb; \
	else echo "skipping notebooks/ranking.ipynb: $(CSL_BENCH) not found"; fi
	$(BIN)/techmatch bench speed
	$(BIN)/techmatch bench assign
	$(BIN)/techmatch bench schedule
	$(BIN)/techmatch bench load --clients 32 --seconds 60

# The importers' fuzz tests with random examples, many of them (make test runs 40, fixed).
fuzz: $(STAMP)
	TECHMATCH_FUZZ_RANDOM=1 TECHMATCH_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q tests/matching/test_import_fuzz.py

# Ten minutes of the same mix, sampling the server's resident memory every 10 s.
soak: $(STAMP)
	$(BIN)/techmatch bench load --clients 32 --soak 600

templates: $(STAMP)
	for e in needs results experts; do $(BIN)/techmatch template $$e data/templates/$$e.xlsx; done

clean:
	rm -rf $(VENV) var
