# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench clean packages package-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/tableside demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Debian packages (docs/operations.md): the agent for amd64 and arm64, the hub for amd64, into dist/
PKG_VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
PKG_DIST ?= dist

packages: $(STAMP)
	rm -f $(PKG_DIST)/tableside-*_$(PKG_VERSION)_*.deb
	packaging/nfpm/build.sh agent amd64 $(PKG_VERSION) $(PKG_DIST)
	packaging/nfpm/build.sh agent arm64 $(PKG_VERSION) $(PKG_DIST)
	packaging/nfpm/build.sh hub amd64 $(PKG_VERSION) $(PKG_DIST)

# installs them into a Debian 12 root (cached in /var/cache/tableside-ci), upgrades, removes, purges
package-test: packages
	TABLESIDE_PACKAGE_TEST=1 TABLESIDE_PACKAGE_DIST=$(abspath $(PKG_DIST)) TABLESIDE_PACKAGE_VERSION=$(PKG_VERSION) \
	  $(BIN)/python -m pytest tests/packaging -p no:cacheprovider $(PYTEST_ARGS)
