# Beauty Galera: `make demo` brings the lab up, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PYTHON    ?= python3
BIN       := $(VENV)/bin
INVENTORY ?= inventories/docker/hosts.yml
PLAYBOOK  := $(BIN)/ansible-playbook -i $(INVENTORY)
# molecule and testinfra call ansible-* by name.
export PATH := $(abspath $(BIN)):$(PATH)
# Scenarios `make test` runs, in order; override e.g. `make test SCENARIOS=default`.
SCENARIOS ?= default laptops faults tls

.PHONY: help venv demo down status lint test test-app test-molecule bench clean

help:
	@echo "make demo    - build and start the Docker lab: 3 Galera nodes, HAProxy, the app"
	@echo "make test    - lint, app tests, then molecule scenarios: $(SCENARIOS)"
	@echo "make status  - one table of the cluster's health (non-zero exit when unhealthy)"
	@echo "make down    - remove the lab containers and network"
	@echo "make bench   - print app throughput figures against the running lab"

# The controller's tools live in a project venv, rebuilt when requirements change.
$(BIN)/.installed: requirements.txt app/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(PLAYBOOK) playbooks/lab.yml
	$(PLAYBOOK) playbooks/site.yml
	@echo
	@echo "The Beauty Products lab is up:"
	@echo "  app            http://localhost:5000"
	@echo "  HAProxy stats  http://localhost:8404/stats  (user admin, password in credentials/docker/haproxy_stats)"
	@echo "  MySQL via HAProxy  127.0.0.1:3300  (beauty_admin / credentials/docker/db_admin)"
	@echo "  cluster size   docker exec mariadb-node1 mysql -e \"SHOW STATUS LIKE 'wsrep_cluster_size';\""

down: venv
	$(PLAYBOOK) playbooks/lab.yml -e lab_state=absent

status: venv
	$(PLAYBOOK) playbooks/status.yml

lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint

test-app: venv
	$(BIN)/pytest app/tests -q

test-molecule: venv
	set -e; for s in $(SCENARIOS); do $(BIN)/molecule test -s $$s; done

test: lint test-app test-molecule

bench: venv
	$(BIN)/python -m tools.bench_app

clean: down
	rm -rf $(VENV)
