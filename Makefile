# make lab   - install what the lab needs, boot the default lab, run ha.deploy
# make test  - the whole test suite (unit, render, lab); .ci/run calls it
# make test-scale - a fresh lab deployed, grown from 3 to 5 controllers and shrunk back to 3, removed
# make bench - measure deploys, failovers (Pacemaker and keepalived), recoveries and scale on new labs;
#              writes bench/results.json and bench/report.md (issue 17); not part of make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# The lab's (debootstrap, systemd-container, dpkg-dev, iproute2), then the
# RedHat side's offline proofs: haproxy -c on each family's rendered config,
# RDO's httpd sites under apache2 with mod_wsgi, firewalld's rich-rule parser.
HOST_PACKAGES := debootstrap systemd-container dpkg-dev iproute2 haproxy apache2 libapache2-mod-wsgi-py3 \
	python3-firewall

.PHONY: venv host-packages lab test test-scale bench lint down

# What salt-lint checks: every SLS and Jinja file of the formula, the pillar's
# top file and pillar.example (.salt-lint). yamllint's files are in .yamllint.
SALT_LINT_FILES = $$(find salt -name '*.sls' -o -name '*.jinja' | sort) pillar/top.sls pillar.example

$(VENV)/.installed: requirements-salt.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: host-packages $(VENV)/.installed

host-packages:
	@missing=$$(for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "==> installing host packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lab: venv
	bin/lab up
	bin/lab deploy
	bin/lab status

test: venv
	$(VENV)/bin/ruff check _modules _states _runners _utils _output lab tests bench
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/salt-lint $(SALT_LINT_FILES)
	$(VENV)/bin/pytest

# Not in make test yet: it would take the suite past its 45 minutes.
test-scale: venv
	$(VENV)/bin/pytest -m "lab_scale or lab_teardown" tests/lab

# About 40 minutes; it removes any lab first and leaves none.
bench: venv
	$(VENV)/bin/python -m bench.run

lint: venv
	$(VENV)/bin/ruff check _modules _states _runners _utils _output lab tests bench
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/salt-lint $(SALT_LINT_FILES)

down: venv
	bin/lab down
