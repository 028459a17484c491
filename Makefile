# Portail Parents on one machine. `make run` to use it, `make test` to prove it, `make stop` after.
SHELL := /bin/bash
.DEFAULT_GOAL := run
.PHONY: run test bench stop setup servers status

# Test selection and options, e.g. `make test TESTS=tests/test_local_servers.py`.
TESTS ?= tests
PYTEST_OPTIONS ?= -q -rfE

run:
	@bash scripts/run.sh

setup:
	@bash scripts/setup.sh

servers: setup
	@bash scripts/servers.sh start

status:
	@bash scripts/servers.sh status

test: servers
	@. scripts/env.sh && "$$PORTAL_VENV/bin/python" -m pytest $(TESTS) $(PYTEST_OPTIONS)

bench: servers
	@if [ -f bench/__main__.py ]; then \
		. scripts/env.sh && "$$PORTAL_VENV/bin/python" -m bench; \
	else \
		echo "bench: nothing to run yet (no bench/__main__.py)"; \
	fi

stop:
	@bash scripts/stop.sh
