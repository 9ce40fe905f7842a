# One entry point. `make test` and `make course` create/reuse .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run the notebooks in the smoke profile; GANCOURSE_HEADLESS skips live redraws nobody watches.
TEST_ENV := GANCOURSE_PROFILE=smoke GANCOURSE_HEADLESS=1 MPLBACKEND=Agg

.PHONY: install test test-offline course lint benchmarks clean-runs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=600 -q -p no:cacheprovider

# The suite as a new user offline runs it: no data root given, no network (stand-ins, skips). The notebooks
# run here through the `slow` sweep test (every numbered notebook, two combinations, budgets below smoke), so
# the offline pass also proves that every notebook can be swept; runs go to runs/offline/ (a run refuses
# other data than it was trained on, so they stay apart from `make test`'s real-data runs).
test-offline: $(STAMP)
	env -u GANCOURSE_DATA GANCOURSE_OFFLINE=1 GANCOURSE_RUNS="$(CURDIR)/runs/offline" $(TEST_ENV) \
		$(BIN)/python -m pytest tests -m "slow or not slow" -q -p no:cacheprovider

course: $(STAMP)
	$(BIN)/gancourse course --profile quick --out runs/course

lint: $(STAMP)
	$(BIN)/ruff check .

benchmarks: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean-runs:
	rm -rf runs/
