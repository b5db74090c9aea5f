# Two commands do everything on a fresh machine: `make report` and `make test`.
# Both create .venv when it is missing and reuse it when present.
#
# Every executed notebook in build/ is a file target. It reruns only when something it uses is newer:
# its notebook, a project module it imports (directly or not: build/deps.mk, from `python -m lib.deps`),
# the environment ($(STAMP)), its parameters (build/params/<run>, rewritten only when DATA, PIPELINE,
# FINAL_FIT... change its value), or a results file it reads from a notebook before it. A second
# `make report` with nothing changed runs nothing.

PYTHON ?= python3
# VENV=<prefix>: use an environment you already have (a conda one from environment.yml: VENV=$$CONDA_PREFIX)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data
DATA_ABS := $(abspath $(DATA))
quote = '$(subst ','\'',$(1))'
# The notebooks get DATA relative to the project root (lib.paths.resolve reads it from there, wherever the
# kernel runs), so that the parameters printed in the reports hold no path of this machine.
DATA_REL := $(shell $(PYTHON) -c 'import os, sys; print(os.path.relpath(sys.argv[1]))' $(call quote,$(DATA_ABS)))
# PIPELINE="resize(16,20) | hflip" trains and times the models for another pipeline (lib/core/spec.py syntax)
PIPELINE ?=
PIPE := $(if $(PIPELINE),-p pipeline "$(PIPELINE)")
# Notebooks run one at a time even under `make -j` (they time themselves, and two would share the cores):
# each papermill run holds build/.notebook.lock. `make -j2 report NOTEBOOK_LOCK=` runs them side by side.
NOTEBOOK_LOCK ?= $(if $(shell command -v flock),flock build/.notebook.lock)
# PROGRESS=<file>: progress bars go to build/progress.log, never into the executed notebooks or the HTML
PAPERMILL := PROGRESS=build/progress.log $(NOTEBOOK_LOCK) $(BIN)/papermill --kernel python3 --log-output \
	--request-save-on-cell-execute
# The HTML shows prose, tables and figures: code cells tagged hide-input keep their output and drop their source,
# which stays in notebooks/ and build/; the parameter cells are left out (each page folds its configuration into an
# appendix at its end, lib.report.appendix).
NBCONVERT := $(BIN)/jupyter nbconvert --to html --embed-images --no-prompt \
	--TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags hide-input \
	--TagRemovePreprocessor.remove_cell_tags parameters --TagRemovePreprocessor.remove_cell_tags injected-parameters

.PHONY: help venv report train architectures benchmark pipelines scaling ship bench-gpu html test lint lab clean
.DELETE_ON_ERROR:
ifneq ($(and $(filter clean,$(MAKECMDGOALS)),$(filter-out clean,$(MAKECMDGOALS))),)
.NOTPARALLEL:  # `make -j2 clean report`: clean first, not beside the run
endif

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  variables: DATA=<dir> (CIFAR-10: cifar-10-batches-py/ or train/ and test/ image folders; default data/)"
	@echo "             PIPELINE=\"resize(16,20) | hflip\" (01 and 03 learn and time another pipeline)"
	@echo "             FINAL_FIT=\"-p ...\" (the final model's 01_train parameters), NOTEBOOK_LOCK= (notebooks in parallel)"
	@echo "             VENV=<prefix> (an existing environment, e.g. conda's), TORCH_INDEX=<url> (another torch build:"
	@echo "             https://download.pytorch.org/whl/cpu for the CPU-only one, far smaller than the CUDA build)"

venv: $(STAMP)  ## create or update .venv from requirements.txt

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r requirements.txt -e .
	touch $@

# ---- The run graph -------------------------------------------------------------------------------
# Per run: NB_ its notebook, P_ its papermill parameters, OUT_ the files it writes (make checks that it
# did), IN_ the files it reads from runs before it. A run writes build/partial/<run>.ipynb and moves it to
# build/<run>.ipynb only when it succeeded, so that a failed run is never taken as up to date.
# The results files are named in lib/paths.py: build/deps.mk gives each notebook's (RESULTS_<notebook>) and a
# training run's record (TRAIN_RECORD, train_%.json), so OUT_ and what reads it are expanded where they are used (=).
R := reports/results
M := reports/models
results-of = $(addprefix $(R)/,$(RESULTS_$(1)))
train-outputs = $(addprefix $(R)/,$(patsubst %,$(TRAIN_RECORD),$(1))) $(M)/$(1).pt
GPU_RESULTS := $(wildcard results/gpu results/gpu/*)  # recorded by `make bench-gpu` (committed)
RUNS := 01_train_dense_seed 01_train_separable 02_architectures 03_benchmark 04_pipelines 05_scaling 06_ship 00_report

# The baseline recipe: the minimal design, the assignment's loss and rule, Adam on CIFAR-10 alone.
NB_01_train_dense_seed  := 01_train
P_01_train_dense_seed   := -p data_dir "$(DATA_REL)" $(PIPE) -p model dense -p run_name dense_seed -p stopping mean \
	-p optimizer adam -p lr 1e-3 -p batch_size 64 -p max_epochs 100 -p patience 10
OUT_01_train_dense_seed = $(call train-outputs,dense_seed)

# The final model. Its outputs are named after run_name, so FINAL_FIT keeps `-p run_name separable`.
# Trained as a network: from its random initialisation, by Adam (lr 1e-2, batch 256, cosine schedule over 40 epochs),
# on the assignment's loss, on CIFAR-10 plus 3,200 noise images (more than the 3,072 input pixels, so that every
# direction of the map is seen), until the tolerance rule holds; then on to epoch 40 with the history recorded, so
# that 02 reads what a tighter threshold would have cost from this same run (the saved model is the rule's).
FINAL_FIT := -p model separable -p run_name separable -p optimizer adam -p lr 1e-2 -p batch_size 256 \
	-p schedule cosine -p max_epochs 40 -p loss range_sse -p stopping tolerance -p tolerance_gray 0.01 \
	-p n_synthetic 3200 -p n_held_out 100 -p patience 10 -p observe_past_rule True
NB_01_train_separable  := 01_train
P_01_train_separable   := -p data_dir "$(DATA_REL)" $(PIPE) $(FINAL_FIT)
OUT_01_train_separable = $(call train-outputs,separable)

NB_02_architectures  := 02_architectures
P_02_architectures   := -p data_dir "$(DATA_REL)"
IN_02_architectures   = $(call train-outputs,separable) $(call train-outputs,dense_seed)  # the loss study repeats the final run
OUT_02_architectures = $(call results-of,02_architectures) $(M)/exact.pt

NB_03_benchmark  := 03_benchmark
P_03_benchmark   := -p data_dir "$(DATA_REL)" $(PIPE)
IN_03_benchmark  := $(M)/dense_seed.pt $(M)/separable.pt $(M)/exact.pt $(GPU_RESULTS)
OUT_03_benchmark = $(call results-of,03_benchmark)

NB_04_pipelines  := 04_pipelines
P_04_pipelines   := -p data_dir "$(DATA_REL)"
OUT_04_pipelines = $(call results-of,04_pipelines)

NB_05_scaling  := 05_scaling
P_05_scaling   := -p data_dir "$(DATA_REL)"
OUT_05_scaling = $(call results-of,05_scaling)

NB_06_ship  := 06_ship
P_06_ship   := -p data_dir "$(DATA_REL)"
IN_06_ship  := $(M)/separable.pt
OUT_06_ship = $(call results-of,06_ship)

# The front page reads every result, so it runs last.
NB_00_report := 00_report
P_00_report  := -p data_dir "$(DATA_REL)"
IN_00_report = $(filter $(R)/%,$(foreach r,$(filter-out 00_report,$(RUNS)),$(OUT_$(r)))) $(GPU_RESULTS)

RESULTS_FILES = $(filter $(R)/%,$(foreach r,$(RUNS),$(OUT_$(r))))
HTML := $(patsubst %,reports/%.html,$(filter-out 00_report,$(RUNS))) reports/index.html

# build/deps.mk and build/params/ are made only for goals that run notebooks (not for help, test, clean...).
LIGHT_GOALS := help venv test lint lab clean bench-gpu
ifneq ($(filter-out $(LIGHT_GOALS),$(or $(MAKECMDGOALS),help)),)
ifeq ($(filter grouped-target,$(.FEATURES)),)
$(error the report's run graph needs GNU make >= 4.3 (grouped targets); this is $(MAKE_VERSION): on macOS, `brew install make` and run gmake)
endif
ifeq ($(findstring -p run_name separable,$(FINAL_FIT)),)
$(error FINAL_FIT must keep `-p run_name separable`: the final model's record and saved weights are named after the run)
endif
ifeq ($(DATA_REL),)
$(error could not turn DATA=$(DATA) into a path relative to the project with $(PYTHON); set PYTHON=<python >= 3.11>)
endif
# The project files each notebook (and lib.report.summary) imports; the system python runs it, before .venv exists.
build/deps.mk: lib/deps.py $(wildcard notebooks/*.ipynb lib/*.py lib/*/*.py lib/*/*/*.py lib/*/*/*.c)
	$(PYTHON) -m lib.deps --module lib.report.summary --out $@
-include build/deps.mk
# Each run's parameters, written when they differ from the last ones: at parse time, so `make -q` stays exact.
$(foreach r,$(RUNS),$(shell mkdir -p build/params && v=$(call quote,$(strip $(P_$(r)))) && \
	{ [ -f build/params/$(r) ] && [ "$$(cat build/params/$(r))" = "$$v" ] || printf '%s\n' "$$v" > build/params/$(r); }))
endif

build/params/%:  # only when removed since make started (make clean report)
	@mkdir -p $(@D) && printf '%s\n' $(call quote,$(strip $(P_$*))) > $@

# "run seconds", from the duration papermill records in the notebook (waiting for the lock not counted)
TIME_OF_RUN := import json, sys; nb = json.load(open(sys.argv[1])); \
	print(sys.argv[2], round(nb["metadata"]["papermill"]["duration"], 1))

# One rule per run: the executed notebook and the files it writes are made together (grouped target).
define notebook-rule
build/$(1).ipynb $(OUT_$(1)) &: notebooks/$(NB_$(1)).ipynb $(DEPS_$(NB_$(1))) build/params/$(1) $(IN_$(1)) $(STAMP)
	$$(call run-notebook,$(1))
endef
define run-notebook
@mkdir -p build/partial $(R) $(M) && touch build/partial/$(1).start
$(PAPERMILL) notebooks/$(NB_$(1)).ipynb build/partial/$(1).ipynb $(P_$(1)) \
	|| { echo "make: $(1) failed; the partly executed notebook is build/partial/$(1).ipynb" >&2; exit 1; }
@for f in $(OUT_$(1)); do [ "$$f" -nt build/partial/$(1).start ] || { \
	echo "make: notebooks/$(NB_$(1)).ipynb did not write $$f, which the Makefile's run graph says it writes" >&2; \
	exit 1; }; done
@mv build/partial/$(1).ipynb build/$(1).ipynb && rm -f build/partial/$(1).start
@$(BIN)/python -c $(call quote,$(TIME_OF_RUN)) build/$(1).ipynb $(1) >> build/times.txt
endef
$(foreach r,$(RUNS),$(eval $(call notebook-rule,$(r))))

reports/%.html: build/%.ipynb $(STAMP)
	$(NBCONVERT) --output-dir reports $<
# What follows a run depends on its notebook and on the files it writes: make looks at a grouped target's
# files one by one, so a deleted results file must be a prerequisite to rerun the run before its HTML.
$(foreach r,$(filter-out 00_report,$(RUNS)),$(eval reports/$(r).html: $(OUT_$(r))))

reports/index.html: build/00_report.ipynb $(STAMP)
	$(NBCONVERT) --output-dir reports --output index $<
	@echo "report: reports/index.html (the front page), the other reports/*.html and reports/SUMMARY.md"

# SUMMARY.md opens on the headline, which is also written between the README's markers (the rest of the README is
# left as it is, and the README is written, before SUMMARY.md, only when its block changes): an edited README gets its
# headline back from the results files.
reports/SUMMARY.md: $(RESULTS_FILES) $(DEPS_lib.report.summary) README.md $(STAMP)
	$(BIN)/python -m lib.report.summary --readme README.md

# ---- Convenience targets: names for the files above ------------------------------------------------
run-files = build/$(1).ipynb $(OUT_$(1))
train: $(call run-files,01_train_dense_seed) $(call run-files,01_train_separable)  ## the two 01_train runs: dense_seed and the final separable (FINAL_FIT)

architectures: $(call run-files,02_architectures)  ## the architecture, loss and stopping study (saves the exact operator for the benchmark)

benchmark: $(call run-files,03_benchmark)  ## time the saved models against the pipeline (trains them first when out of date)

pipelines: $(call run-files,04_pipelines)  ## which pipelines a tiny network can learn (probe, closed-form fits, speed)

scaling: $(call run-files,05_scaling)  ## every route at input sides 32 to 256: time, arithmetic, fit time, fidelity

ship: $(call run-files,06_ship)  ## the learned transform in a DataLoader and a model, and as an ONNX graph in ONNX Runtime

html: $(HTML) reports/SUMMARY.md  ## reports/*.html (front page: index.html) and SUMMARY.md, running what is out of date

report: html  ## everything out of date: notebooks into build/, HTML and SUMMARY.md into reports/ (build/times.txt: seconds per run)

# On a GPU machine, with that machine's own python3 and torch (no .venv, no data: noise images): the GPU
# benchmark (cuda rows, the learned transform through the engine's Triton kernel among them, and the target pipeline
# image by image on the GPU, timed on 1,000 images and scaled to all; three DataLoader batch sizes and two repeats
# keep it near a minute), the same benchmark's CPU rows on that machine's processor, and the unit tests, into
# results/gpu/, with the machine and torch's version in machine.txt (and in the summary each run writes). The trained
# models of reports/models/ are timed where they were carried there (GPU_MODELS), the final one also kept on its
# support (banded, as 03 times it); else freshly built models of the same shapes, labelled untrained.
GPU_OUT ?= results/gpu
GPU_MODELS ?= $(if $(wildcard $(M)/*.pt),$(M),/nonexistent)
GPU_BENCH = PYTHONPATH=. $(PYTHON) -m lib.experiments.bench --data-dir /nonexistent --models-dir $(GPU_MODELS) \
	--batch-sizes 16 256 1024 --dataloader-repeats 2 --gpu-loop-images 1000
GPU_MACHINE := import sys, torch, torchvision; print("python", sys.version.split()[0]); \
	print("torch", torch.__version__, "torchvision", torchvision.__version__, "CUDA", torch.version.cuda)
bench-gpu:  ## GPU benchmark, host-CPU benchmark, unit tests with the system python3 (PYTHONPATH=.), into results/gpu/
	@mkdir -p $(GPU_OUT)/host_cpu
	{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; $(PYTHON) -c $(call quote,$(GPU_MACHINE)); \
		lscpu | grep -E '^(CPU\(s\)|Model name)'; date -u; } > $(GPU_OUT)/machine.txt 2>&1; cat $(GPU_OUT)/machine.txt
	$(GPU_BENCH) --devices cuda --out $(GPU_OUT)
	$(GPU_BENCH) --devices cpu --out $(GPU_OUT)/host_cpu
	PYTHONPATH=. $(PYTHON) -m pytest -q -p no:cacheprovider tests --ignore=tests/test_notebooks.py \
		> $(GPU_OUT)/tests.txt 2>&1; status=$$?; cat $(GPU_OUT)/tests.txt; exit $$status

# JupyterLab refuses to start as root without --allow-root; it is added for root only (a container), and
# nothing else changes: the server keeps JupyterLab's defaults (localhost only, token on).
# LAB_ARGS="--port 8890 --no-browser" passes options through.
LAB_ARGS ?=
LAB_AS_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ROOT_NOTE := make lab: running as root (a container?): --allow-root, without which JupyterLab refuses root; \
	address and token stay the defaults (localhost only, token on)
lab: $(STAMP)  ## open the notebooks in JupyterLab, on the project's environment (kernel python3 = .venv)
	$(if $(LAB_AS_ROOT),@echo "$(LAB_ROOT_NOTE)")
	$(BIN)/jupyter lab notebooks/ $(LAB_AS_ROOT) $(LAB_ARGS)

test: $(STAMP) lint  ## unit tests and the notebook smoke test (DATA=<dir> to smoke-test on real images)
	CIFAR_DATA="$(if $(filter command line environment,$(origin DATA)),$(DATA_ABS))" $(BIN)/python -m pytest --durations=10

lint:  $(STAMP)  ## ruff on the library, tests and notebooks
	$(BIN)/ruff check lib tests notebooks
	$(BIN)/ruff format --check lib tests notebooks

clean:  ## remove generated files (keeps .venv and the data cache)
	rm -rf build reports
