# Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export RECTIFY_PREFECT_QUIET := 1

.PHONY: run test bench deps browser clean

$(BIN)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || test -x $(UV) || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen
	@touch $@

deps: $(BIN)/.synced

# Debian's Chromium for the browser tests (never a downloaded browser build) and a CJK font
# for pages, screenshots and server-side charts.
browser:
	@{ test -x /usr/bin/chromium && fc-list :lang=zh | grep -q .; } || \
	  { apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; } \
	  || echo "chromium or fonts-wqy-microhei could not be installed: browser tests will skip"

# The app with sample data on the embedded default: SQLite in var/, one process, one scheduler.
run: deps
	$(BIN)/rectify serve --host 127.0.0.1 --port 8000

test: deps browser
	$(BIN)/pytest -n 2 --dist loadgroup

bench: deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var/rectify.db* var/test-prefect
