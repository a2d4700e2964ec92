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
# Scenarios `make test` runs; override e.g. `make test SCENARIOS=default`. The ones on the
# Docker lab's containers (default, faults) run one after another on one lab; laptops,
# tls and arbitrator have containers and networks of their own, so they run beside them,
# one after the other (after lint and the app tests).
SCENARIOS ?= default faults tls laptops arbitrator
SIDE_SCENARIOS   := laptops tls arbitrator
LAB_SCENARIOS    := $(filter-out $(SIDE_SCENARIOS),$(SCENARIOS))
OTHER_SCENARIOS  := $(filter $(SIDE_SCENARIOS),$(SCENARIOS))
# Every phase's duration goes to artifacts/phases.tsv; `make test` ends with the table.
PHASES    := $(BIN)/python -m tools.phases
# Seconds: `make test` warns past TEST_BUDGET; .ci/run fails past its own hard limit.
TEST_BUDGET ?= 2700

.PHONY: help venv demo down status lint test test-all test-app test-roles test-molecule test-lab test-other lab-images bench soak clean

help:
	@echo "make demo    - build and start the Docker lab: 3 Galera nodes, HAProxy, the app"
	@echo "make test    - lint, app tests and molecule scenarios ($(SCENARIOS)), with a phase table"
	@echo "make status  - one table of the cluster's health (non-zero exit when unhealthy)"
	@echo "make down    - remove the lab containers and network"
	@echo "make bench   - print app throughput figures against the running lab, then failover figures"
	@echo "make soak    - saturate both cores for SOAK_SECONDS (300) under writes; count unplanned view changes"

# The controller's tools live in a project venv, rebuilt when requirements change.
$(BIN)/.installed: requirements.txt app/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

demo: venv
	@date +%s > .demo-started
	$(PLAYBOOK) playbooks/lab.yml
	$(PLAYBOOK) playbooks/site.yml
	@echo
	@echo "make demo took $$(( $$(date +%s) - $$(cat .demo-started) )) s (where to browse: site.yml's last task, above)"
	@rm -f .demo-started

down: venv
	$(PLAYBOOK) playbooks/lab.yml -e lab_state=absent

status: venv
	$(PLAYBOOK) playbooks/status.yml

# The alert rules: the monitoring role's templates are rendered from the Docker inventory
# (its three members are what alerts_test.yml expects), then checked and unit-tested.
MONITORING_OUT := artifacts/monitoring
MONITORING     := roles/monitoring

lint: venv
	$(PHASES) run yamllint -- $(BIN)/yamllint -s .
	$(PHASES) run ansible-lint -- $(BIN)/ansible-lint
	$(PHASES) run ruff -- $(BIN)/ruff check .
	$(PHASES) run ruff-format -- $(BIN)/ruff format --check .
	@mkdir -p $(MONITORING_OUT)
	$(PHASES) run monitoring-render -- $(BIN)/ansible-playbook -i inventories/docker/hosts.yml $(MONITORING)/tests/render.yml
	$(PHASES) run promtool-check -- promtool check rules $(MONITORING)/files/alerts/*.rules.yml $(MONITORING_OUT)/galera-inventory.rules.yml
	$(PHASES) run promtool-config -- promtool check config --syntax-only $(MONITORING_OUT)/prometheus.yml
	$(PHASES) run promtool-web -- promtool check web-config $(MONITORING_OUT)/web.yml
	$(PHASES) run promtool-test -- promtool test rules $(MONITORING)/tests/alerts_test.yml $(MONITORING)/tests/alerts_without_inventory_test.yml

test-app: venv
	$(PHASES) run app-tests -- $(BIN)/pytest app/tests -q

# Roles' own Python: galera_health against a real one-node Galera server; the firewall
# role's filter and plugins/filter's (unit tests, no server). Then the test tooling's own tests (tools/tests, run as
# `python -m pytest` so `tools` imports from the project root).
test-roles: venv
	$(PHASES) run role-tests -- $(BIN)/pytest roles/galera_health/tests roles/firewall/tests plugins/tests -q
	$(PHASES) run tool-tests -- $(BIN)/python -m pytest tools/tests -q

# The lab images (base by debootstrap where nothing can be pulled, bare node, node with
# packages), built once before the scenarios that start from them side by side.
lab-images: venv
	$(PHASES) run lab-images -- $(PLAYBOOK) playbooks/lab.yml --tags images

# One target per scenario, each after the one before it in LAB_SCENARIOS, so `make -O` prints
# each scenario's output when that scenario ends. They converge the same inventory, so they share
# one lab: the first creates, converges and checks idempotence, each later one only runs its
# checks on the lab the one before it left, and the last one removes it (tools/phases.py
# lab_steps). Run alone (`make test SCENARIOS=faults`), a scenario runs its whole sequence.
LAB_FIRST := $(firstword $(LAB_SCENARIOS))
LAB_LAST  := $(lastword $(LAB_SCENARIOS))
scenario-%: lab-images
	$(PHASES) molecule $* --molecule $(BIN)/molecule \
	  $(if $(filter-out $(LAB_LAST),$*),--keep-lab) $(if $(filter-out $(LAB_FIRST),$*),--reuse-lab)
# Each lab scenario waits for the one before it in LAB_SCENARIOS.
chain = $(if $(word 2,$(1)),$(eval scenario-$(word 2,$(1)): scenario-$(word 1,$(1)))$(call chain,$(wordlist 2,99,$(1))))
$(call chain,$(LAB_SCENARIOS))
test-lab: $(addprefix scenario-,$(LAB_SCENARIOS))

# Beside test-lab, after lint and the app tests: the two cores then run at most two things.
test-other: lint test-app test-roles lab-images
	set -e; for s in $(OTHER_SCENARIOS); do $(PHASES) molecule $$s --molecule $(BIN)/molecule; done

test-molecule: test-lab test-other

test-all: test-lab test-other

# In test runs every playbook ends with its slowest tasks, so converge time stays visible.
test test-all test-other test-lab scenario-%: export ANSIBLE_CALLBACKS_ENABLED = ansible.posix.profile_tasks

# -O: each target's output is printed whole when it ends, so the side-by-side parts stay readable.
test: venv
	@[ -n "$$PHASES_KEEP" ] || $(PHASES) reset
	@rc=0; $(MAKE) --no-print-directory -j2 -Otarget test-all || rc=$$?; \
	  $(PHASES) report --warn-after $(TEST_BUDGET); exit $$rc

# Throughput (published port, container address, inside: nginx, gunicorn, database TLS off
# and on), then writes through the app while one member is killed and brought back.
bench: venv
	$(BIN)/python -m tools.bench_app --direct-url http://172.30.0.30:5000 --inside beauty-app
	$(BIN)/python -m tools.bench_failover --inventory $(INVENTORY) --haproxy haproxy-lb \
	  --nodes mariadb-node1,mariadb-node2,mariadb-node3 --kill mariadb-node2

# Both cores saturated by stress-ng under the app's writes, against the running lab: a member
# that is only starved of CPU must not be evicted (galera_failure_detection: lab).
SOAK_SECONDS ?= 300
soak: venv
	$(BIN)/python -m tools.soak --nodes mariadb-node1,mariadb-node2,mariadb-node3 --seconds $(SOAK_SECONDS)

clean: down
	rm -rf $(VENV)
