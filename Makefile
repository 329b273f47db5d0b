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
CLIP_MODEL ?= $(BUILD)/models/mnist-cnn-cf8.keras
NET ?= $(BUILD)/net
CLIP_NET ?= $(BUILD)/net-cf8
DATASET ?= mnist
T ?= 32
N ?= 200
PYTEST_ARGS ?=

# The PYNQ driver's tests run in their own venv: pynq 4.0 needs numpy<2, TensorFlow numpy>=2.
PYNQ_VENV := .venv-pynq
PYNQ_BIN := $(PYNQ_VENV)/bin
PYNQ_STAMP := $(PYNQ_VENV)/.installed
PYNQ_PIP_NODEPS := pynq==4.0.0 pynqmetadata==0.2.0 pynqutils==0.1.3
PYNQ_PIP := 'numpy==1.26.*' 'pycparser<3' nest_asyncio python-magic jsonschema pydantic tqdm \
	ipython cffi 'pytest==9.*' 'nbclient==0.11.*' 'ipykernel==7.*' 'matplotlib==3.*'
PYNQ_TEST_NET := $(BUILD)/pynq-test/net
PYNQ_PYTEST_ARGS ?=
BOARD ?= pynq-z2
# the core on the board: rtl (the SystemVerilog core, packaged by `make ip`) or hls (the
# Vitis HLS export of `make hls VITIS=1`); RTL_PLAN sizes the RTL core (`spikeforge sim` options)
CORE ?= rtl
RTL_PLAN ?=
IP_DIR ?= $(BUILD)/ip/$(CORE)
IP_REPO ?= $(if $(filter hls,$(CORE)),$(BUILD)/hls/ip,$(IP_DIR))
CLOCK_MHZ ?=
VIVADO_HINT := Install Vivado (2022.2 or later, with Zynq device support), source its \
	settings64.sh and run again; see docs/board.md
OVERLAY_DIR ?= $(BUILD)/overlay/$(BOARD)
BUNDLE ?= $(BUILD)/bundle
HLS_DIR ?= $(BUILD)/hls
RTL_DIR ?= $(BUILD)/rtl
VITIS ?=
DEMO_RTL_IMAGES ?= 300
DEMO_HLS_IMAGES ?= 30
# nextpnr's routed ECP5-85K Fmax of the default RTL plan (docs/rtl.md); no Zynq clock is measured
RTL_CLOCK_MHZ ?= 36.1

.PHONY: help venv venv-pynq test test-pynq test-legacy demo bench bench-low-latency lint clean \
	overlay package hls sim synth ip

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

test: $(STAMP) $(PYNQ_STAMP) ## run the test suite (what CI runs; fetches MNIST on first use)
	$(BIN)/pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-pynq

venv-pynq: $(PYNQ_STAMP) ## create .venv-pynq: pynq 4.0 (numpy<2) + spikeforge without extras

$(PYNQ_STAMP): pyproject.toml
	$(PYTHON) -m venv $(PYNQ_VENV)
	$(PYNQ_BIN)/pip install --quiet --upgrade pip
	$(PYNQ_BIN)/pip install --quiet --no-deps $(PYNQ_PIP_NODEPS)
	$(PYNQ_BIN)/pip install --quiet $(PYNQ_PIP) -e .
	touch $@

# A real MNIST network for the pynq tests, made in .venv (the pynq venv has no TensorFlow).
$(PYNQ_TEST_NET)/snn.json: | $(STAMP)
	$(SF) train --arch mnist-cnn --dataset mnist --epochs 2 --quiet \
		--out $(BUILD)/pynq-test/mnist-cnn.keras
	$(SF) convert $(BUILD)/pynq-test/mnist-cnn.keras --dataset mnist --calibration 2000 \
		--quiet --out $(PYNQ_TEST_NET)

test-pynq: $(PYNQ_STAMP) $(PYNQ_TEST_NET)/snn.json ## driver, simulated device, notebook tests (.venv-pynq)
	SPIKEFORGE_PYNQ_TEST_NET=$(PYNQ_TEST_NET) $(PYNQ_BIN)/pytest tests/driver_pynq $(PYNQ_PYTEST_ARGS)

ip: $(NET)/snn.json ## the core as Vivado IP in build/ip/CORE (CORE=rtl|hls, RTL_PLAN; TIMING=1: OOC timing script); packaged by Vivado
	$(SF) ip $(NET) --core $(CORE) --out $(IP_DIR) --hls-dir $(HLS_DIR) \
		$(if $(TIMING),--timing-script) $(RTL_PLAN)
	@if [ "$(CORE)" = rtl ]; then command -v vivado >/dev/null || { echo "make ip: wrote \
	$(IP_DIR); packaging it needs vivado, which is not on PATH. $(VIVADO_HINT)"; exit 1; }; fi
	if [ "$(CORE)" = rtl ]; then cd $(IP_DIR) && vivado -mode batch -nojournal -nolog \
		-source package_ip.tcl; fi

overlay: $(STAMP) $(if $(filter rtl,$(CORE)),ip) ## Vivado: block design + bitstream + .hwh (BOARD=pynq-z2|ultra96v2|zcu104, CORE=rtl|hls, CLOCK_MHZ, IP_REPO)
	@command -v vivado >/dev/null || { echo "make overlay: vivado is not on PATH. \
	$(VIVADO_HINT)"; exit 1; }
	$(BIN)/python -m spikeforge.driver.overlay_params --board $(BOARD) --core $(CORE) \
		--ip-repo $(IP_REPO) --out-dir $(OVERLAY_DIR) $(if $(PART),--part $(PART)) \
		$(if $(BOARD_PART),--board-part $(BOARD_PART)) $(if $(CLOCK_MHZ),--clock-mhz $(CLOCK_MHZ))
	cd $(OVERLAY_DIR) && vivado -mode batch -nojournal -nolog \
		-source $(CURDIR)/hw/overlay/build_overlay.tcl -tclargs $(CURDIR)/$(OVERLAY_DIR)/params.tcl

package: $(NET)/snn.json ## bundle bitstream, network, driver, notebook, test set for the board
	$(SF) package $(NET) --bitstream $(OVERLAY_DIR)/spikeforge.bit --board $(BOARD) \
		--dataset $(DATASET) --out $(BUNDLE)

lint: $(STAMP) ## ruff on the Python sources
	$(BIN)/ruff check sw tests benchmarks

$(MODEL): | $(STAMP)
	$(SF) train --arch mnist-cnn --dataset $(DATASET) --out $@

$(CLIP_MODEL): | $(STAMP)
	$(SF) train --arch mnist-cnn --dataset $(DATASET) --activation clip-floor --levels 8 --rate-penalty 0.1 \
		--out $@

$(NET)/snn.json: $(MODEL)
	$(SF) convert $(MODEL) --dataset $(DATASET) --out $(NET) --timesteps $(T)

# The low-latency network: clip-floor trained, thresholds balanced, half-threshold start.
$(CLIP_NET)/snn.json: $(CLIP_MODEL)
	$(SF) convert $(CLIP_MODEL) --dataset $(DATASET) --out $(CLIP_NET) --timesteps 8 \
		--v-init half --pool running-max

demo: $(NET)/snn.json ## train (or reuse) the MNIST CNN, convert it, evaluate ANN, float and golden SNN, then the RTL core (fast harness) and the HLS csim against the golden model
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend ann --quiet
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend float --timesteps $(T)
	$(SF) evaluate $(NET) --dataset $(DATASET) --backend golden --timesteps $(T)
	$(SF) sim $(NET) --dataset $(DATASET) --images $(DEMO_RTL_IMAGES) --timesteps $(T) --fast \
		--clock-mhz $(RTL_CLOCK_MHZ) --build-dir $(RTL_DIR)
	$(SF) hls $(NET) --dataset $(DATASET) --images $(DEMO_HLS_IMAGES) --timesteps $(T) \
		--out $(HLS_DIR)

hls: $(NET)/snn.json ## HLS project in build/hls: g++ csim of N test images == golden, cycle report (VITIS=1: Vitis flow, IP)
	$(SF) hls $(NET) --dataset $(DATASET) --images $(N) --timesteps $(T) --out $(HLS_DIR) \
		$(if $(VITIS),--vitis)
	$(SF) report $(NET) --dataset $(DATASET) --timesteps $(T) --hls-dir $(HLS_DIR) --quiet

sim: $(NET)/snn.json ## RTL core in Verilator/cocotb: N test images == golden, accuracy, cycles/image
	$(SF) sim $(NET) --dataset $(DATASET) --images $(N) --timesteps $(T) --build-dir $(RTL_DIR)

synth: $(NET)/snn.json ## yosys/nextpnr report of the RTL core: Zynq-7020 resources, ECP5 Fmax (slow)
	$(SF) synth $(NET) --build-dir $(RTL_DIR)

bench: $(MODEL) $(NET)/snn.json $(CLIP_NET)/snn.json bench-low-latency ## run the benchmarks (tables on stdout, plots and tables in docs/figures)
	$(BIN)/python benchmarks/accuracy_vs_timesteps.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/ablation.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/golden_speed.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/hls_csim.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/rtl_throughput.py --net $(NET) --clip-net $(CLIP_NET) --dataset $(DATASET)
	$(BIN)/python benchmarks/rtl_sim_speed.py --net $(NET) --clip-net $(CLIP_NET)
	$(BIN)/python benchmarks/qkeras_conversion.py --dataset $(DATASET)
	$(BIN)/python benchmarks/model_zoo.py --mnist-model $(MODEL)
	$(BIN)/python benchmarks/post_training.py --model $(MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/pytorch_import.py --dataset $(DATASET)
	$(BIN)/python benchmarks/nir_roundtrip.py

bench-low-latency: $(MODEL) $(CLIP_MODEL) ## plain vs low-latency conversion against T, the per-method ablation, the rate penalty
	$(BIN)/python benchmarks/low_latency.py --model $(MODEL) --clip-model $(CLIP_MODEL) \
		--dataset $(DATASET)
	$(BIN)/python benchmarks/low_latency_ablation.py --model $(CLIP_MODEL) --dataset $(DATASET)
	$(BIN)/python benchmarks/rate_penalty.py --dataset $(DATASET) --models-dir $(BUILD)/models

# Cross-check the Keras 2 / QKeras reader against files real tf-keras and QKeras write. QKeras'
# dependency pins conflict with numpy 2, so they go in without dependencies on top of .venv.
KERAS2_VENV := $(BUILD)/venv-keras2
KERAS2_PIP := tf-keras==2.21.0 qkeras==0.9.0 tensorflow-model-optimization==0.8.0 dm-tree \
	pyparser networkx scikit-learn keras-tuner kt-legacy threadpoolctl joblib

test-legacy: $(STAMP) ## cross-check Keras 2 / QKeras import against real tf-keras + QKeras files
	test -x $(KERAS2_VENV)/bin/python || { $(PYTHON) -m venv $(KERAS2_VENV) && \
		$(BIN)/python -c 'import site; print(site.getsitepackages()[0])' > \
		$$($(KERAS2_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/sf.pth && \
		$(KERAS2_VENV)/bin/pip install --quiet --no-deps $(KERAS2_PIP); }
	SPIKEFORGE_KERAS2_PYTHON=$(KERAS2_VENV)/bin/python $(BIN)/pytest tests/test_import_crosscheck.py

clean: ## remove build output (keeps .venv and the dataset cache)
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis
