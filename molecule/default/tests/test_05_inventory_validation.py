"""Issue 2: a wrong inventory stops site.yml before anything changes, naming the bad value."""

import re

import pytest
import yaml

import lab


def assert_refused_without_change(result, *fragments):
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in the failure:\n{output[-2000:]}"
    changed = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)
    assert all(count == "0" for _, count in changed), f"something changed before the refusal: {changed}"


@pytest.mark.parametrize(
    "extra, named",
    [
        ('{"galera_bootstrap_node": "mariadb-node9"}', "mariadb-node9"),
        ('{"galera_sst_method": "ftp"}', "ftp"),
        ('{"galera_failure_detection": "fast"}', "unknown profile 'fast'"),
        (
            '{"galera_failure_detection": {"keepalive_period": 1, "inactive_check_period": 1,'
            ' "suspect_timeout": 2, "inactive_timeout": 6, "install_timeout": 5, "join_retrans_period": 0.5}}',
            "more than a third of suspect_timeout",
        ),
        # The app refuses these at start; site.yml must refuse them before anything changes.
        ('{"demo_app_products_page_size": 5000}', "demo_app_products_page_size must be a whole number from 1 to 200"),
        ('{"demo_app_max_content_length": 10}', "demo_app_max_content_length a number of bytes from 1024"),
        ('{"galera_health_rejoin_after": 5}', "galera_health_rejoin_after on mariadb-node1 must be 0 (off)"),
    ],
)
def test_bad_variables_are_refused(extra, named):
    assert_refused_without_change(lab.run_playbook("site.yml", "-e", extra), named)


def test_duplicate_node_addresses_are_refused(tmp_path, inv):
    overlay = tmp_path / "overlay.yml"
    first = inv["hostvars"][inv["groups"]["galera"][0]]["lab_ipv4"]
    second = inv["groups"]["galera"][1]
    overlay.write_text(yaml.safe_dump({"all": {"hosts": {second: {"lab_ipv4": first}}}}))
    result = lab.run_playbook("site.yml", "-i", str(overlay))
    assert_refused_without_change(result, "share a node address", first)


def test_empty_galera_group_is_refused(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"credentials_dir": str(tmp_path / "credentials")},
                    "children": {"galera": {"hosts": {}}},
                }
            }
        )
    )
    result = lab.run_playbook("site.yml", inventory_path=inventory)
    assert_refused_without_change(result, "galera_cluster_members is empty")


def test_even_sized_cluster_gets_a_warning():
    result = lab.run_playbook(
        "site.yml", "--tags", "validate", "-e", '{"galera_cluster_members": ["mariadb-node1", "mariadb-node2"]}'
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "WARNING: the cluster has 2 members" in result.stdout
