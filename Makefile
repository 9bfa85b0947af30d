# Two commands do everything on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
UV      := $(BIN)/uv
STAMP   := $(VENV)/.installed
DATA    ?= build/demo
FIRMS   ?= 20000
SEED    ?= 7

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	# bytecode written once here: with PYTHONDONTWRITEBYTECODE set (as on CI) every process would recompile
	# every module it imports (~8 s for the CLI's MLflow/pandas stack)
	$(BIN)/python -m compileall -q -j 2 data_contracts features models pipelines serving cli > /dev/null
	bash .ci/system-deps
	touch $(STAMP)

run: install
	$(BIN)/iprisk run --firms $(FIRMS) --seed $(SEED) --out $(DATA)

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install
	$(BIN)/ruff check .

# Benchmarks print figures (they assert nothing); each is also runnable on its own, see bench/*.py.
bench: install
	$(BIN)/python bench/bench_foundation.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/bench_polish.py
	$(BIN)/python bench/bench_tranches.py
	$(BIN)/python bench/bench_service.py --train 2500

clean:
	rm -rf $(VENV) build mlruns.db mlartifacts
