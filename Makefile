# veraretouch: `make demo` and `make test` are the two commands a new user needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo serve test test-all test-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch (a local wheel here); no torchvision anywhere.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test,plots,backbone,ray,export,vlm]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m veraretouch.cli.demo

# The web app on http://127.0.0.1:8765 (opens a browser where there is one; Ctrl+C stops it).
serve: $(STAMP)
	$(VENV)/bin/veraretouch serve --open

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" -n 2 -q

test-all: $(STAMP)
	$(PY) -m pytest -n 2 -q

# Independent cross-checks used by the tests (skipped when absent): ffmpeg reads our .cube files;
# Debian's chromium runs the web app's browser test (through Playwright's Python package, no download).
test-deps:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "ffmpeg not found: the ffmpeg cross-check tests will be skipped"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the web app's browser test will be skipped"; fi; }

bench: $(STAMP)
	$(PY) benchmarks/param_speed.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
