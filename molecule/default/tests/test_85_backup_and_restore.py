"""Issue 5: a mariabackup backup from a drained member, restored into a fresh cluster."""

import subprocess
import uuid

import lab


def products(node):
    return lab.sql(node, "SELECT id, name, price, stock, created_at FROM products ORDER BY id", "beauty")


def test_backup_then_restore_into_a_fresh_cluster(nodes):
    lab.sql(
        nodes[0],
        f"INSERT INTO products (name, price, stock) VALUES ('backed-up-{uuid.uuid4().hex[:8]}', 10, 1)",
        "beauty",
    )
    expected = products(nodes[0])

    backup = lab.run_playbook("backup.yml")
    assert backup.returncode == 0, backup.stdout[-3000:]
    files = sorted((lab.ROOT / "backups").glob(f"beauty-{nodes[-1]}-*.mbstream.gz"))
    assert files, "no backup arrived on the controller"

    # A fresh cluster: new Galera containers, converged from scratch, different data.
    subprocess.run(["docker", "rm", "-f", *nodes], check=True, capture_output=True)
    assert lab.run_playbook("lab.yml").returncode == 0
    fresh = lab.run_playbook("site.yml", "--limit", "galera:localhost", timeout=1200)
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert lab.sql(nodes[0], "SHOW TABLES", "beauty") == [], "the new cluster should start empty"

    refused = lab.run_playbook("restore.yml", "-e", f"restore_file={files[-1]}")
    assert refused.returncode != 0 and "restore_confirm=yes" in refused.stdout

    restored = lab.run_playbook(
        "restore.yml", "-e", f"restore_file={files[-1]}", "-e", "restore_confirm=yes", timeout=1200
    )
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node in nodes:
        assert lab.is_synced(node), node
        assert lab.wsrep(node)["wsrep_cluster_size"] == "3", node
        assert products(node) == expected, node
    for node in nodes[1:]:
        journal = lab.docker_exec(node, "journalctl", "-u", "mariadb", "--no-pager").stdout
        assert "SST completed on joiner" in journal, node
