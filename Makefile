# Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# uv: the one on PATH, else one installed earlier with `pip install --user uv`, else our own in .tools/
# (a venv of its own: Debian's python3 refuses `pip install --user`, PEP 668).
TOOLS := .tools
UV := $(firstword $(shell command -v uv 2>/dev/null) $(wildcard $(HOME)/.local/bin/uv) $(TOOLS)/bin/uv)
# apt-get as root, else through sudo when it needs no password
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
# the system's certificate store (as pip and curl use it), for networks behind a TLS proxy
# (UV_NATIVE_TLS is the older uv's name for it)
export UV_SYSTEM_CERTS ?= 1
export UV_NATIVE_TLS ?= 1
export RECTIFY_PREFECT_QUIET := 1

.PHONY: run test lint bench deps font browser clean

$(TOOLS)/bin/uv:
	@echo "未找到 uv，安装到 $(TOOLS)/（独立的 Python 虚拟环境）"
	@rm -rf $(TOOLS); $(PYTHON) -m venv $(TOOLS) 2>/dev/null || \
	  { rm -rf $(TOOLS); $(SUDO) apt-get install -y -qq python3-venv >/dev/null 2>&1 && $(PYTHON) -m venv $(TOOLS); } || \
	  { rm -rf $(TOOLS); echo "无法创建虚拟环境：请先安装 python3-venv（apt-get install python3-venv）" >&2; exit 1; }
	$(TOOLS)/bin/pip install --quiet uv

$(BIN)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

deps: $(BIN)/.synced

# A CJK font for pages, screenshots and server-side charts (Debian's fonts-wqy-microhei).
font:
	@fc-list :lang=zh 2>/dev/null | grep -q . || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null; } || \
	  echo "未能安装中文字体 fonts-wqy-microhei：统计图将不生成（请以 root 运行 apt-get install fonts-wqy-microhei）"

# Debian's Chromium for the browser tests (never a downloaded browser build).
browser: font
	@test -x /usr/bin/chromium || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; } || \
	  echo "未能安装 chromium：浏览器测试将跳过（请以 root 运行 apt-get install chromium）"

# The app with sample data on the embedded default: SQLite in var/, one process, one scheduler.
HOST ?= 127.0.0.1
PORT ?= 8000
run: deps font
	$(BIN)/rectify serve --host $(HOST) --port $(PORT)

# Lint and format first (seconds), then the suite.
lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: deps browser lint
	$(BIN)/pytest -n 2 --dist loadgroup

bench: deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var/rectify.db* var/test-prefect
