# mmlwgan — the two quick-start commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
WEB_ARGS ?=
export VENV

.PHONY: install install-core install-web install-full test test-fast demo web benchmark clean help

help:
	@echo "make install-core  create $(VENV) with what the demo needs (minutes; idempotent)"
	@echo "make install-web   install-core + the web app's extra (gradio)"
	@echo "make install-full  everything: + mmcv's compiled ops (built once, cached), mmpose/mmdet,"
	@echo "                   test requirements, headless chromium (alias: make install)"
	@echo "make demo          install-core if needed, then run the demo on bundled inputs"
	@echo "make web           install-web if needed, then serve the web app on http://127.0.0.1:7860"
	@echo "make test          install-full if needed, then run the test suite"
	@echo "make benchmark     geometry benchmark (rasterizer, flow composition)"

install-core:
	@bash tools/misc/install_env.sh core

install-web:
	@bash tools/misc/install_env.sh web

install-full:
	@bash tools/misc/install_env.sh full

install: install-full

test: install-full
	OMP_NUM_THREADS=2 $(PY) -m pytest tests

demo: install-core
	$(PY) demo/run_demo.py --out-dir outputs/demo

web: install-web
	$(PY) demo/web_app.py $(WEB_ARGS)

benchmark: install-core
	$(PY) tools/analysis_tools/benchmark_geometry.py

clean:
	rm -rf outputs work_dirs .pytest_cache
