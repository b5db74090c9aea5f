# Two commands do everything on a fresh machine: `make report` and `make test`.
# Both create .venv when it is missing and reuse it when present.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data
DATA_ABS := $(abspath $(DATA))
# PIPELINE="resize(16,20) | hflip" trains and times the models for another pipeline (lib/spec.py syntax)
PIPELINE ?=
PIPE := $(if $(PIPELINE),-p pipeline "$(PIPELINE)")
# PROGRESS=<file>: progress bars go to build/progress.log, never into the executed notebooks or the HTML
PAPERMILL := PROGRESS=build/progress.log $(BIN)/papermill --kernel python3 --log-output --request-save-on-cell-execute
# The HTML shows the parameters, prose, tables and figures; code cells tagged hide-input (all but the
# parameters) keep their output and drop their source, which stays in notebooks/ and build/.
NBCONVERT := $(BIN)/jupyter nbconvert --to html --embed-images \
	--TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags hide-input

.PHONY: help venv report train architectures benchmark pipelines bench-gpu html test lint lab clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: DATA=<dir> (CIFAR-10: cifar-10-batches-py/ or train/ and test/ image folders; default data/)"

venv: $(STAMP)  ## create or update .venv from requirements.txt

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -e .
	touch $@

# The three trainings: the mission's recipe as the baseline, then dense and separable fitted exactly
# (closed-form least squares on CIFAR-10 plus 500 noise images, checked by the tolerance rule).
EXACT_FIT := -p optimizer closed_form -p loss sse -p stopping tolerance -p tolerance_gray 0.01 \
	-p n_synthetic 500 -p n_held_out 100

train: $(STAMP)  ## run the training notebook three times into build/: dense_seed, dense, separable
	@mkdir -p build reports
	$(PAPERMILL) notebooks/01_train.ipynb build/01_train_dense_seed.ipynb \
		-p data_dir $(DATA_ABS) $(PIPE) -p model dense -p run_name dense_seed -p stopping mean \
		-p optimizer adam -p lr 1e-3 -p batch_size 64 -p max_epochs 100 -p patience 10
	$(PAPERMILL) notebooks/01_train.ipynb build/01_train_dense.ipynb \
		-p data_dir $(DATA_ABS) $(PIPE) -p model dense -p run_name dense $(EXACT_FIT)
	$(PAPERMILL) notebooks/01_train.ipynb build/01_train_separable.ipynb \
		-p data_dir $(DATA_ABS) $(PIPE) -p model separable -p run_name separable $(EXACT_FIT)

architectures: $(STAMP)  ## the architecture, loss and stopping study (saves the exact operator for the benchmark)
	@mkdir -p build reports
	$(PAPERMILL) notebooks/02_architectures.ipynb build/02_architectures.ipynb -p data_dir $(DATA_ABS)

benchmark: $(STAMP)  ## time the saved models against the pipeline (needs reports/models from train)
	@mkdir -p build reports
	$(PAPERMILL) notebooks/03_benchmark.ipynb build/03_benchmark.ipynb -p data_dir $(DATA_ABS) $(PIPE)

pipelines: $(STAMP)  ## which pipelines a tiny network can learn (probe, closed-form fits, speed)
	@mkdir -p build reports
	$(PAPERMILL) notebooks/04_pipelines.ipynb build/04_pipelines.ipynb -p data_dir $(DATA_ABS)

# On a GPU machine, with that machine's own python3 and torch (no .venv, no data, no trained files: noise
# images and freshly built models, labelled so): the GPU benchmark and the unit tests, into results/gpu/.
GPU_OUT ?= results/gpu
bench-gpu:  ## GPU benchmark + unit tests with the system python3 (PYTHONPATH=.), into results/gpu/
	@mkdir -p $(GPU_OUT)
	PYTHONPATH=. $(PYTHON) -m lib.bench --out $(GPU_OUT) --data-dir /nonexistent --models-dir /nonexistent
	PYTHONPATH=. $(PYTHON) -m pytest -q -p no:cacheprovider tests --ignore=tests/test_notebooks.py \
		> $(GPU_OUT)/tests.txt 2>&1; status=$$?; cat $(GPU_OUT)/tests.txt; exit $$status

# The notebooks run one after another even under `make -j`: the benchmark times the models that
# training and the design study save.
report: $(STAMP)  ## all notebooks in order, then self-contained HTML and SUMMARY.md in reports/
	$(MAKE) train
	$(MAKE) architectures
	$(MAKE) benchmark
	$(MAKE) pipelines
	$(MAKE) html

html: $(STAMP)  ## HTML of the executed notebooks in build/, and reports/SUMMARY.md
	$(NBCONVERT) --output-dir reports build/01_train_dense_seed.ipynb build/01_train_dense.ipynb \
		build/01_train_separable.ipynb build/02_architectures.ipynb build/03_benchmark.ipynb build/04_pipelines.ipynb
	$(BIN)/python -m lib.summary
	@echo "report: $(abspath reports)/*.html and reports/SUMMARY.md"

lab: $(STAMP)  ## open the notebooks in JupyterLab, on the project's environment (kernel python3 = .venv)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP) lint  ## unit tests and the notebook smoke test (DATA=<dir> to smoke-test on real images)
	CIFAR_DATA="$(if $(filter command line environment,$(origin DATA)),$(DATA_ABS))" $(BIN)/python -m pytest

lint:  $(STAMP)  ## ruff on the library, tests and notebooks
	$(BIN)/ruff check lib tests notebooks
	$(BIN)/ruff format --check lib tests notebooks

clean:  ## remove generated files (keeps .venv and the data cache)
	rm -rf build reports
