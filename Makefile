# The two commands a newcomer needs: `make run` and `make test` (README.md).
# Every step below is idempotent and skipped when already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BROWSER := $(or $(WHATSAPP_BROWSER_PATH),/usr/bin/chromium)

.PHONY: run test setup browser

run: setup
	$(BIN)/python manage.py serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed node_modules/.installed browser

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium runs the WhatsApp Web sessions (Playwright's own download
# is not assumed). Installed when missing and we are root; otherwise we say how.
browser:
	@if [ -x "$(BROWSER)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the WhatsApp sessions..."; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else \
		echo "WARNING: no browser at $(BROWSER). WhatsApp sessions need Chromium:" \
			"run 'sudo apt-get install chromium', or set WHATSAPP_BROWSER_PATH." >&2; \
	fi
