# Verbs of the project. Every target sets up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := $(VENV)/share/jupyter/kernels/cocity/kernel.json
MEF_YEARS ?= 2018 2020 2021

.PHONY: setup data prepare reports test mutation lab clean

# Bytecode of the package, refreshed whenever a module changed: the editable install leaves none, and where
# PYTHONDONTWRITEBYTECODE is set Python would compile every module again in every `cocity` command (0.2-0.5 s).
setup: $(STAMP) $(KERNEL)
	$(BIN)/python -m compileall -q cocity_analysis

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

# Jupyter kernel "cocity" (shown as "cocity-analysis") = this .venv's python. Every notebook in
# notebooks/ declares it, and `cocity report`, papermill and the tests run the notebooks with it, so every
# verb below installs it through `setup`.
$(KERNEL): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name cocity --display-name "cocity-analysis"

# ISTAT's changes file, MEF (several tax years), census 2011, ICCU, ISTAT's current municipal list and ISTAT SDMX
# sources: a fetch that fails (no network, not in the mirror) leaves that source's indicators missing, and the
# reports say why; `cocity prepare` stops with a clear message only when no need indicator has data at all.
data: setup
	-$(BIN)/cocity fetch istat_changes
	-for year in $(MEF_YEARS); do $(BIN)/cocity fetch mef --year $$year; done
	-$(BIN)/cocity fetch mef --year newest
	-$(BIN)/cocity fetch istat_census2011
	-$(BIN)/cocity fetch iccu
	-$(BIN)/cocity fetch istat_comuni
	-$(BIN)/cocity fetch istat_sdmx
	-$(BIN)/cocity fetch istat_tourism

# SCENARIO=data/processed/scenarios/NAME.yaml: run with choices saved from notebooks/explore.ipynb.
prepare: data
	$(BIN)/cocity prepare $(if $(SCENARIO),--scenario $(SCENARIO))

reports: prepare
	$(BIN)/cocity report --all

test: setup
	$(BIN)/python -m pytest -q

# Mutation testing (mutmut), a habit outside CI: mutants of the core modules ([tool.mutmut] in
# pyproject.toml) against their fast tests, then the surviving mutants are printed. Long on 2 cores
# (README "Mutation testing"); MUTANTS narrows it, e.g. MUTANTS='cocity_analysis.fileio.*'.
# `mutmut show NAME` prints a survivor's diff; results are kept in mutants/ (re-runs are incremental).
MUTATION_STAMP := $(VENV)/.mutation-installed
MUTATION_JOBS ?= 2
MUTANTS ?=

$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,mutation]'
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	-$(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/mutmut results

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf reports/cities reports/index.html reports/overview.html reports/manifest.json reports/logs reports/failed \
		data/processed/*.parquet data/processed/*.json data/processed/map_base.png \
		data/processed/runs data/processed/current data/processed/.current.*.tmp mutants
