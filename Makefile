# sobelnet_ros: `make demo` sets up .venv and runs the node on the bundled demo
# input; `make test` sets up .venv and runs the tests. Needs python3 >= 3.10
# with venv (Debian/Ubuntu: apt install python3-venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sobelnet-installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

# The ROS 2 wheels are only for machines without a ROS distro: a sourced
# distro (ROS_DISTRO set) brings its own rclpy, found through --system-site-packages.
$(STAMP): requirements.txt requirements-ros.txt setup.py setup.cfg package.xml $(shell find sobelnet_ros launch config weights resource -type f 2>/dev/null)
	test -x $(PY) || $(PYTHON) -m venv $(if $(ROS_DISTRO),--system-site-packages) $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	if [ -z "$$ROS_DISTRO" ]; then $(PY) -m pip install --quiet -r requirements-ros.txt; fi
	$(PY) -m pip install --quiet --no-deps --no-build-isolation .
	touch $(STAMP)

demo: setup
	$(VENV)/bin/sobelnet demo

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check sobelnet_ros test scripts launch

bench: setup
	$(VENV)/bin/sobelnet bench

clean:
	rm -rf $(VENV) build *.egg-info
