"""Issue 5: a mariabackup backup from a drained member, restored into a fresh cluster.
Issue 10: the backup is private; a restore with a member off is refused; a relative path works."""

import stat
import subprocess
import uuid

import lab


def products(node):
    return lab.sql(node, "SELECT id, name, price, stock, created_at FROM products ORDER BY id", "beauty")


def test_backup_then_restore_into_a_fresh_cluster(nodes, tmp_path):
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
    # A full copy of the database: the operator's eyes only.
    assert stat.S_IMODE(files[-1].stat().st_mode) == 0o600, oct(files[-1].stat().st_mode)
    assert stat.S_IMODE((lab.ROOT / "backups").stat().st_mode) == 0o700

    # A fresh cluster: new Galera containers, converged from scratch, different data.
    subprocess.run(["docker", "rm", "-f", *nodes], check=True, capture_output=True)
    assert lab.run_playbook("lab.yml").returncode == 0
    fresh = lab.run_playbook("site.yml", "--limit", "galera:localhost", timeout=1200)
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert lab.sql(nodes[0], "SHOW TABLES", "beauty") == [], "the new cluster should start empty"

    refused = lab.run_playbook("restore.yml", "-e", f"restore_file={files[-1]}")
    assert refused.returncode != 0 and "restore_confirm=yes" in refused.stdout

    # A member that is off would come back later with the old history: refused, nothing changed.
    subprocess.run(["docker", "stop", nodes[-1]], check=True, capture_output=True, timeout=120)
    try:
        refused = lab.run_playbook("restore.yml", "-e", f"restore_file={files[-1]}", "-e", "restore_confirm=yes")
        assert refused.returncode != 0
        # Whitespace-normalised: the YAML callback folds long messages.
        assert f"Cannot reach {nodes[-1]}" in " ".join(refused.stdout.split()), refused.stdout[-3000:]
        for node in nodes[:-1]:
            assert lab.is_synced(node), f"{node} was touched by a refused restore"
    finally:
        lab.start_container(nodes[-1])
    lab.wait_for(lambda: all(lab.is_synced(n) for n in nodes), 180, "every node Synced again")

    # The README's own form: a path relative to the project, run from another folder.
    relative = files[-1].relative_to(lab.ROOT)
    restored = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(lab.INVENTORY),
            str(lab.ROOT / "playbooks/restore.yml"),
            "-e",
            f"restore_file={relative}",
            "-e",
            "restore_confirm=yes",
        ],
        capture_output=True,
        text=True,
        env=lab.ansible_env(),
        cwd=tmp_path,
        timeout=1200,
    )
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node in nodes:
        assert lab.is_synced(node), node
        assert lab.wsrep(node)["wsrep_cluster_size"] == "3", node
        assert products(node) == expected, node
    for node in nodes[1:]:
        journal = lab.docker_exec(node, "journalctl", "-u", "mariadb", "--no-pager").stdout
        assert "SST completed on joiner" in journal, node
