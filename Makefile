# spikeforge: `make` lists the targets. Everything runs from the project venv (.venv),
# which the targets create on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SF := $(BIN)/spikeforge

BUILD ?= build
MODEL ?= $(BUILD)/models/mnist-cnn.keras
NET ?= $(BUILD)/net
DATASET ?= mnist
T ?= 32
N ?= 200
PYTEST_ARGS ?=

.PHONY: help venv test demo bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12
	@echo
	@echo "variables: T=$(T) (timesteps), N=$(N) (images), NET=$(NET), MODEL=$(MODEL)"

venv: $(STAMP) ## create .venv with spikeforge and its tools (pip, ~2 minutes)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

test: $(STAMP) ## run the test suite (what CI runs; fetches MNIST on first use)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff on the Python sources
	$(BIN)/ruff check sw tests benchmarks

$(MODEL): | $(STAMP)
	$(SF) train --arch mnist-cnn --dataset $(DATASET) --out $@

$(NET)/snn.json: $(MODEL)
	$(SF) convert $(MODEL) --dataset $(DATASET) --out $(NET) --timesteps $(T)

demo: $(NET)/snn.json ## train (or reuse) the MNIST CNN, convert it, evaluate ANN, float and golden SNN
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend ann --quiet
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend float --timesteps $(T)
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend golden --timesteps $(T)

bench: $(MODEL) ## run the benchmarks (tables on stdout, plots and tables in docs/figures)
	$(BIN)/python benchmarks/accuracy_vs_timesteps.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/ablation.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/golden_speed.py --model $(MODEL) --dataset $(DATASET)

clean: ## remove build output (keeps .venv and the dataset cache)
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis
