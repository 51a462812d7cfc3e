# The two commands of the README: `make demo` and `make test`. Both create .venv, install the
# project with its test extras, and (as root on Debian) the system packages the tests need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint system-packages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python 3.11 or newer is needed (make PYTHON=python3.11 ...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

system-packages:
	@scripts/install-system-packages

demo: system-packages $(STAMP)
	@echo "Teams without Microsoft: docs/teams.md, section 7 (a local connector that prints the cards,"
	@echo "  ITMA_TEAMS_ALLOW_UNAUTHENTICATED=1 serve, python -m tests.support.teams_activities places DIG-101)"
	@$(BIN)/itma-assistant demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: system-packages $(STAMP) lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) var build *.egg-info
