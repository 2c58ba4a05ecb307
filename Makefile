# Shortcuts; dev.py does the work so that a machine with only python3 needs no make.
PYTHON ?= python3

.PHONY: demo test lint ci

demo:  ## set up .venv, build the demo partnership and serve it at http://127.0.0.1:8000
	$(PYTHON) dev.py demo $(ARGS)

test:  ## set up .venv with the test extras and run the whole suite (SOCIALCARE_DATABASE_URL picks the database)
	$(PYTHON) dev.py test $(ARGS)

lint:
	.venv/bin/ruff check src tests bench

ci:  ## what CI runs: lint, the suite on SQLite and on PostgreSQL, the benchmarks at small scale
	.ci/run
