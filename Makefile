# selfsim: `make demo` and `make test` each install everything first (into .venv).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.selfsim-installed

.PHONY: install demo test bench bench-train bench-robust clean

# The Fashion-MNIST recipe in BENCHMARKS.md.
FMNIST_RECIPE = --init default --input-size 64 --feature-level 3 --method vicreg --lr 2e-5 --batch-size 128 --epochs 1 --workers 0 --whiten

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "selfsim needs Python >= 3.11")'
	@# The virtual environment takes about 6.2 GB (PyTorch); say so before pip fails half-way.
	@$(PYTHON) -c 'import shutil, sys; free = shutil.disk_usage(".").free / 2**30; sys.exit(0 if free >= 7 else f"installing selfsim needs about 7 GB free disk here, found {free:.1f} GB")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# PyTorch first, pinned to the wheels this project is tested with (CPU works; CUDA used if present).
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) scripts/demo.py --out demo-out

test: install
	@bash scripts/ensure_browser.sh
	$(PY) -m pytest

bench: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/copy_detection.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/ingest_speed.py --large
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/startup.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/vector_store.py --sizes 100000
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/onnx_speed.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/homography.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/hard_geometry.py --split report --per-photo 15 --negatives 300
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/verify_latency.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/serve_load.py

# Training benchmarks: about 1.5 hours on a 2-core CPU (see BENCHMARKS.md for each command).
bench-train: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/train_speed.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/adaptation.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/fashion_mnist.py -- $(FMNIST_RECIPE)

# Robustness: the kill loop, huge queries, a long fuzz of the image reader (about 10 minutes).
bench-robust: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/kill_loop.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/query_memory.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) scripts/fuzz_reader.py --examples 100000 2>/dev/null

clean:
	rm -rf $(VENV) demo-out bench-out
