# Portail Parents on one machine. `make run` to use it, `make test` to prove it, `make stop` after.
SHELL := /bin/bash
.DEFAULT_GOAL := run
.PHONY: run cluster test test-cluster bench stop setup servers status

# Test selection and options, e.g. `make test TESTS=tests/test_local_servers.py`.
TESTS ?= tests
PYTEST_OPTIONS ?= -q -rfE

run:
	@bash scripts/run.sh

# The same portal clustered on loopback ports of its own (scripts/cluster.sh), beside `make run`.
cluster: servers
	@bash scripts/cluster.sh start

setup:
	@bash scripts/setup.sh

servers: setup
	@bash scripts/servers.sh start

status:
	@bash scripts/servers.sh status

# The tests that depend on today (marked school_clock) run again with the whole stack on each of
# these days: a school day, a day without school (a Saturday) and a day of the summer break.
SCHOOL_DAYS ?= 2027-02-17 2027-02-20 2027-07-15

# The main pass prints its slowest tests: the suite must stay well within CI's time.
test: servers
	@. scripts/env.sh && "$$PORTAL_VENV/bin/python" -m pytest $(TESTS) $(PYTEST_OPTIONS) --durations=25
	@. scripts/env.sh && for day in $(SCHOOL_DAYS); do \
		echo "== the tests that depend on today, with the school clock on $$day"; \
		PORTAL_SCHOOL_DAY=$$day "$$PORTAL_VENV/bin/python" -m pytest $(TESTS) $(PYTEST_OPTIONS) -m school_clock; \
		status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ] || exit $$status; \
	done

# The fault tests on the cluster (tests/faults/cluster, marked cluster, left out of `make test`):
# they start the cluster when it does not run, and remove it after; -s shows what each sent,
# what arrived, what was lost or duplicated.
test-cluster: servers
	@. scripts/env.sh && "$$PORTAL_VENV/bin/python" -m pytest tests/faults/cluster $(PYTEST_OPTIONS) -s -m cluster

bench: servers
	@if [ -f bench/__main__.py ]; then \
		. scripts/env.sh && "$$PORTAL_VENV/bin/python" -m bench; \
	else \
		echo "bench: nothing to run yet (no bench/__main__.py)"; \
	fi

stop:
	@bash scripts/cluster.sh stop
	@bash scripts/stop.sh
