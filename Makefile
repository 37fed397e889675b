# mmlwgan — the two quick-start commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export VENV

.PHONY: install test test-fast demo benchmark clean help

help:
	@echo "make install    create $(VENV) and install the whole stack (idempotent)"
	@echo "make test       install if needed, then run the test suite"
	@echo "make demo       install if needed, then run the demo on bundled inputs"
	@echo "make benchmark  geometry benchmark (rasterizer, flow composition)"

install:
	@bash tools/misc/install_env.sh

test: install
	OMP_NUM_THREADS=2 $(PY) -m pytest tests

demo: install
	$(PY) demo/run_demo.py --out-dir outputs/demo

benchmark: install
	$(PY) tools/analysis_tools/benchmark_geometry.py

clean:
	rm -rf outputs work_dirs .pytest_cache
