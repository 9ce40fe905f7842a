# One entry point. `make test` and `make course` create/reuse .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run the notebooks in the smoke profile; GANCOURSE_HEADLESS skips live redraws nobody watches.
TEST_ENV := GANCOURSE_PROFILE=smoke GANCOURSE_HEADLESS=1 MPLBACKEND=Agg
# One pytest worker per core, each on one torch thread: the cores stay busy through the tests' Python and file
# work, and a busy neighbour slows one worker instead of stalling every parallel region (docs/performance.md).
PARALLEL := GANCOURSE_THREADS=1
# Tests are handed out a few at a time; those that share a costly fixture (an xdist_group mark) go to one worker
# together, so the fixture is built once.
XDIST := -n auto --dist loadgroup

.PHONY: install test test-snippets test-offline test-full-profile test-colab course lint benchmarks clean-runs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(TEST_ENV) $(PARALLEL) $(BIN)/python -m pytest tests $(XDIST) -q -p no:cacheprovider

# Every code snippet an exercise tells a student to run, run as written at the end of its notebook (smoke
# profile). After `make test`, in the same runs/, the notebooks' own runs resume and only the snippets train.
test-snippets: $(STAMP)
	$(TEST_ENV) $(PARALLEL) $(BIN)/python -m pytest tests/course/test_exercise_snippets.py -m snippets $(XDIST) -q \
		-p no:cacheprovider

# The suite as a new user offline runs it: no data root given, no network (stand-ins, skips). The notebooks
# run here through the `slow` sweep test (every numbered notebook, two combinations, budgets below smoke), so
# the offline pass also proves that every notebook can be swept; runs go to runs/offline/ (a run refuses
# other data than it was trained on, so they stay apart from `make test`'s real-data runs).
test-offline: $(STAMP)
	env -u GANCOURSE_DATA GANCOURSE_OFFLINE=1 GANCOURSE_RUNS="$(CURDIR)/runs/offline" $(TEST_ENV) $(PARALLEL) \
		$(BIN)/python -m pytest tests -m "(slow or not slow) and not notebook" -k "not test_full_profile" $(XDIST) -q \
		-p no:cacheprovider

# Every numbered notebook in the full profile (Colab's default on a GPU) with each training cut to a few steps
# (GANCOURSE_STEP_CAP), on the data the suite finds: shapes, sample counts, sections, resume and peak memory.
test-full-profile: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests/course/test_full_profile.py -m slow -q -p no:cacheprovider

# Colab's package versions (tests/colab_versions.txt) in a second environment: the package is installed as the
# notebooks' first cell installs it, with Colab's packages as constraints (nothing preinstalled moves), plus what
# Colab lacks; then the unit tests (a deprecation warned in gancourse's code is an error: Colab's Python is newer) and notebooks 01
# and 05 (widgets included) in the smoke profile.
COLAB_VENV ?= .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
$(COLAB_STAMP): pyproject.toml tests/colab_versions.txt
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r tests/colab_versions.txt
	$(COLAB_VENV)/bin/python -m pip install --quiet -c tests/colab_versions.txt -e . pytest pytest-xdist nbmake "dask[distributed]" cryptography
	touch $(COLAB_STAMP)

test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -m pip check
	env GANCOURSE_RUNS="$(CURDIR)/runs/colab" $(TEST_ENV) $(PARALLEL) $(COLAB_VENV)/bin/python -m pytest tests \
		-m "not slow and not notebook" $(XDIST) -W "error::DeprecationWarning:gancourse" -q -p no:cacheprovider
	env GANCOURSE_RUNS="$(CURDIR)/runs/colab" $(TEST_ENV) $(COLAB_VENV)/bin/python -m pytest \
		notebooks/01_mnist_dcgan.ipynb notebooks/05_quickdraw_cgan.ipynb --nbmake --nbmake-timeout=900 -q -p no:cacheprovider

course: $(STAMP)
	$(BIN)/gancourse course --profile quick --out runs/course

lint: $(STAMP)
	$(BIN)/ruff check .

benchmarks: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean-runs:
	rm -rf runs/
