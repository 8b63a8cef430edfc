# Verbs of the project. Every target sets up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
YEAR ?= 2021

.PHONY: setup data prepare reports test lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

# MEF is optional: without network or mirror, prepare goes on and the reports say what is missing.
data: $(STAMP)
	-$(BIN)/cocity fetch mef --year $(YEAR)

prepare: data
	$(BIN)/cocity prepare

reports: prepare
	$(BIN)/cocity report --all

test: $(STAMP)
	$(BIN)/python -m pytest -q

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

clean:
	rm -rf reports/cities reports/index.html reports/failed data/processed/*.parquet data/processed/*.json
