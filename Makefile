# make demo / make test: each sets up .venv on first use, then runs.
# A second run reinstalls nothing: the stamp file is newer than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.labelwise-installed
TORCH_VERSION := 2.13.0
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

LS_VENV := .venv-label-studio
LS_STAMP := $(LS_VENV)/.label-studio-installed
LABEL_STUDIO_VERSION := 1.23.*

.PHONY: demo test lint install clean label-studio

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: otherwise a dependency pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

# The Label Studio server for tests/integrations (e2e), in a venv of its own: it pins Django,
# pyarrow, pytz and more, which must not reach .venv. About 3 min the first time.
label-studio: $(LS_STAMP)

$(LS_STAMP):
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet "label-studio==$(LABEL_STUDIO_VERSION)"
	touch $(LS_STAMP)

demo: $(STAMP)
	$(BIN)/python -m labelwise.cli.main demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(LS_VENV) build *.egg-info
