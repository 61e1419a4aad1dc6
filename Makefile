# fastfind developer entry points. Everything runs from the project venv (.venv).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip

.PHONY: venv build demo test lint bench fuzz clean

$(VENV)/.installed: pyproject.toml setup.py fastfind/_codec.pyx fastfind/_codec.pxd $(wildcard fastfind/_codec_*.pxi)
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel "Cython>=3.0,<4"
	$(PIP) install -q --no-build-isolation -e ".[test,fuzz,arrow,dask]"
	touch $@

venv build: $(VENV)/.installed

demo: build
	$(VPY) -m fastfind.demo --run-query

# Twice: with the Cython codec (required), then pure Python (interop-only and fuzz smoke skipped:
# they check the peers, or already run both codecs side by side).
test: build
	$(VPY) -m ruff check fastfind tests benchmarks fuzz
	FASTFIND_REQUIRE_EXTENSIONS=1 $(VPY) -m pytest -q -m "not slow" tests
	FASTFIND_NO_EXTENSIONS=1 $(VPY) -m pytest -q -m "not slow and not interop_only" \
		--ignore=tests/test_fuzz.py tests

lint: build
	$(VPY) -m ruff check fastfind tests benchmarks fuzz

# Long coverage-guided runs of every codec harness (FUZZ_SECONDS each); findings land in fuzz-artifacts/.
FUZZ_SECONDS ?= 300
fuzz: build
	for n in pdu_stream command identifier inflate associate_ac xml; do \
		$(VPY) -m fuzz.run $$n --seconds $(FUZZ_SECONDS) --artifacts fuzz-artifacts || exit 1; done

# Micro benchmarks, then every output vs DCMTK findscu (tmpfs and disk) and the batch benchmark;
# the tables go to stdout, the figures to benchmarks/results.json, batch.json and results.svg.
bench: build
	$(VPY) -m pytest -q benchmarks --benchmark-only
	$(VPY) benchmarks/compare.py --rss-sizes 10000,100000,1000000 --json benchmarks/results.json
	$(VPY) benchmarks/batch.py --json benchmarks/batch.json
	$(VPY) benchmarks/chart.py benchmarks/results.json benchmarks/batch.json > benchmarks/results.svg

clean:
	rm -rf build dist *.egg-info fastfind/_codec.c fastfind/*.so $(VENV)
