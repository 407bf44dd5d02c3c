# The two commands a newcomer needs: `make run` and `make test` (README.md).
# Every step below is idempotent and skipped when already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BROWSER := $(or $(WHATSAPP_BROWSER_PATH),/usr/bin/chromium)

.PHONY: run test lint demo bench mutation setup browser translations messages

run: setup
	$(BIN)/python manage.py serve

# The helpdesk on the WhatsApp Web simulator, with its own data in var/demo:
# sign in as demo/demo, add a connection, scan its QR code from the phones page.
demo: setup
	HELPDESK_VAR_DIR=$(CURDIR)/var/demo WHATSAPP_WEB_URL=http://127.0.0.1:8765/ \
	HELPDESK_ADMIN_USERNAME=demo HELPDESK_ADMIN_PASSWORD=demo \
	$(BIN)/python manage.py serve --simulator-port 8765

# Benchmarks (tests/benchmarks): each figure is printed and appended to var/bench/*.md;
# docs/benchmarks.md keeps the ones we publish, with the machine and the command. `make test` runs each
# benchmark at a smoke size (tests/benchmarks/conftest.py), so one that no longer runs fails CI.
bench: setup
	$(BIN)/python -m pytest tests/benchmarks -m bench -s -q -p no:cacheprovider --timeout=7200 $(PYTEST_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Mutation testing (docs/benchmarks.md): mutmut mutates the pure parts of the ingest, the lease,
# the routing and the outbox ([tool.mutmut] in pyproject.toml) and runs, for each mutant, the fast
# SQLite tests that reach it. CPU-heavy: MUTATION_CHILDREN mutants at a time (1 by default).
mutation: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(or $(MUTATION_CHILDREN),1)
	$(BIN)/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json
	$(BIN)/mutmut results

# ruff (the formatter and the linter) and mypy (the type hints of the apps, with django-stubs),
# configured in pyproject.toml. CI runs it before the tests.
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

setup: $(VENV)/.installed node_modules/.installed browser translations

# The translations (locale/*/LC_MESSAGES/*.po, written by hand) compiled to the .mo files Django reads,
# with Babel: pure Python, no GNU gettext needed. The .mo files are built, never committed.
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/*.po)
translations: $(CATALOGUES:.po=.mo)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

# For developers: add the strings marked in the code and templates to the catalogues (docs/operations.md).
# Needs GNU gettext (apt-get install gettext); the new entries then need their Portuguese.
messages: setup
	$(BIN)/python manage.py makemessages --locale pt_BR --no-obsolete --no-location \
		--ignore '.venv/*' --ignore 'node_modules/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'whatsapp/simulator/*' --ignore 'mutants/*'

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
