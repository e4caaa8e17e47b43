# selfsim: `make demo` and `make test` each install everything first (into .venv).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.selfsim-installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "selfsim needs Python >= 3.11")'
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
	$(PY) -m pytest

bench: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/copy_detection.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/ingest_speed.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/homography.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/verify_latency.py

clean:
	rm -rf $(VENV) demo-out bench-out
