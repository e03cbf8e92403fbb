# Two commands matter (see README.md):
#   make reproduce   set up, generate the bundled data, train, execute the notebooks into results/
#   make test        set up, then the test suite (notebooks included, in fast mode; the docs site built strictly)
#   make study       the findings across seeds, architectures and the musicnn taggers, each with its control (about 1 h)
#   make listenable  the listenable-maps benchmark on the whole test split
#   make docs        the documentation site (MkDocs) into site/; open site/index.html
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: setup data stimuli reproduce notebooks test bench clean study listenable docs lock

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock requirements-nodeps.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

# requirements.lock pins every package for Linux x86_64 and CPython 3.11; refresh it after changing
# requirements.txt (pip resolves it with this machine's configuration; nothing is installed).
lock:
	$${PYTHON:-python3} scripts/lock.py

# With AURALISATION_DATA set (GTZAN, say), the default dataset is not rendered: the notebooks read that folder.
data: setup
	@if [ -z "$$AURALISATION_DATA" ]; then $(BIN)/auralisation generate default --out data/generated --stems --workers 2; \
	else echo "data: using $$AURALISATION_DATA instead of the generated default"; fi
	$(BIN)/auralisation generate stimuli --out data/stimuli

# One line per cell (which notebook, which cell of how many, the time so far); the copies in results/notebooks carry
# no TensorFlow start-up lines and no absolute paths (scripts/run_notebooks.py).
notebooks: setup
	$(BIN)/python scripts/run_notebooks.py --out results/notebooks notebooks/[0-9]*.ipynb
	$(BIN)/python -m auralisation.provenance results/notebooks

reproduce: setup data notebooks

$(VENV)/.browser: scripts/setup.sh | $(VENV)/.installed
	bash scripts/setup.sh --browser
	touch $@

test: setup $(VENV)/.browser
	AURALISATION_FAST=1 $(BIN)/python -m pytest tests auralisation --nbmake notebooks

# Both architectures x 3 training seeds, and the musicnn package's two VGG taggers (trained on real music), each with
# its untrained control, held to the criteria of auralisation/study: tables in results/study/, the table in
# README.md (the taggers over the first 8 features of each block). FAST=1 (or AURALISATION_FAST=1): a tiny version
# (fast data, 2 seeds, no taggers, no README).
STUDY_TAGGERS := musicnn:MSD_vgg,musicnn:MTT_vgg
STUDY_FAST := $(FAST)$(filter 1 true yes,$(AURALISATION_FAST))
study: setup $(if $(STUDY_FAST),,data)
	$(if $(STUDY_FAST),AURALISATION_FAST=1 ,)$(BIN)/auralisation study $(if $(STUDY_FAST),,--pretrained $(STUDY_TAGGERS) --update-readme)

# The listenable-maps benchmark on every clip of the test split (notebook 05 scores a few): notebook 01's choi2016
# and notebook 05's L-MAC decoder (trained here when missing), the table into docs/listenable-maps.md. Resumable.
LISTENABLE_DATA = $(or $(AURALISATION_DATA),data/generated)
listenable: setup
	@test -f models/choi2016/model.keras || { echo "make listenable: no models/choi2016; make reproduce trains it (notebook 01)"; exit 1; }
	test -f models/choi2016/lmac.keras || $(BIN)/auralisation lmac --model models/choi2016 --data $(LISTENABLE_DATA)
	$(BIN)/auralisation benchmark --model models/choi2016 --data $(LISTENABLE_DATA) --out results/listenable --publish

# The documentation site from docs/, the docstrings (API reference) and the notebooks (executed copies from
# results/notebooks when `make reproduce` has made them). tests/test_docs.py builds it with --strict.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build

bench: setup
	for b in benchmarks/bench_*.py; do $(BIN)/python "$$b" || exit 1; done

clean:
	rm -rf results data/cache site
