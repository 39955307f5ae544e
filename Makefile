# Developer entry points. The venv is (re)built only when pyproject.toml changes.
VENV ?= .venv
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install test run bench clean-var lock

install: $(VENV)/.installed

# The stamp makes a second `make test` skip pip entirely.
$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,test]'
	touch $@

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Temporal dev server + PostgreSQL + SMTP sink + worker, in the foreground; Ctrl-C stops all.
run: $(VENV)/.installed
	$(VENV)/bin/centers-dev

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench

# Drops every workflow, database row and mail of the dev stack (stops its postgres first).
clean-var:
	-test ! -d var/pg || $(VENV)/bin/python -c "from db.embedded import stop_embedded; stop_embedded('var/pg')"
	rm -rf var/

# The worker image's hashed lock file (runtime dependencies and the build backend), from pyproject.toml
# and PyPI alone: a local pip config (mirrors, constraints, wheel folders) must not leak into it.
lock: $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet pip-tools
	PIP_CONFIG_FILE=/dev/null PIP_CONSTRAINT= PIP_FIND_LINKS= $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --all-build-deps \
		--index-url https://pypi.org/simple \
		--no-emit-index-url -o requirements.lock pyproject.toml
