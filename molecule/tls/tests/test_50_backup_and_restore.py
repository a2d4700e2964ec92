"""Issue 5: a mariabackup backup from a drained member, restored into a fresh cluster.
Issue 10: the backup is private; a restore with a member off is refused; a relative path works;
a member that was off during a restore comes back by a full copy of the new history (new state UUID).

In the TLS scenario (it was molecule/default's test_85): the laptops run with TLS on, so the
backup, the restore and the SST that follows it are tested as they deploy; and this lab runs
beside the default and faults scenarios, which keeps `make test` within its budget."""

import os
import stat
import subprocess
import uuid

import lab


def products(node):
    return lab.sql(node, "SELECT id, name, price, stock, created_at FROM products ORDER BY id", lab.DATABASE)


def test_backup_then_restore_into_a_fresh_cluster(nodes, tmp_path):
    lab.sql(
        nodes[0],
        f"INSERT INTO products (name, price, stock) VALUES ('backed-up-{uuid.uuid4().hex[:8]}', 10, 1)",
        lab.DATABASE,
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
    assert lab.sql(nodes[0], "SHOW TABLES", lab.DATABASE) == [], "the new cluster should start empty"

    refused = lab.run_playbook("restore.yml", "-e", f"restore_file={files[-1]}")
    assert refused.returncode != 0 and "restore_confirm=yes" in refused.stdout

    # A member that is off would come back later with the old history: refused, nothing changed.
    old_uuid = lab.wsrep(nodes[0])["wsrep_local_state_uuid"]
    subprocess.run(["docker", "stop", nodes[-1]], check=True, capture_output=True, timeout=120)
    try:
        refused = lab.run_playbook("restore.yml", "-e", f"restore_file={files[-1]}", "-e", "restore_confirm=yes")
        assert refused.returncode != 0
        # Whitespace-normalised: the YAML callback folds long messages.
        assert f"Cannot reach {nodes[-1]}" in " ".join(refused.stdout.split()), refused.stdout[-3000:]
        for node in nodes[:-1]:
            assert lab.is_synced(node), f"{node} was touched by a refused restore"

        # Listed as gone, it is left out. The README's own form: a path relative to the
        # project, run from another folder.
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
                "-e",
                f'{{"restore_gone_members": ["{nodes[-1]}"]}}',
                *(["-e", os.environ["BEAUTY_TEST_EXTRA_VARS"]] if os.environ.get("BEAUTY_TEST_EXTRA_VARS") else []),
            ],
            capture_output=True,
            text=True,
            env=lab.ansible_env(),
            cwd=tmp_path,
            timeout=1200,
        )
        assert restored.returncode == 0, restored.stdout[-3000:]
        new_uuid = lab.wsrep(nodes[0])["wsrep_local_state_uuid"]
        # A new history: the member that was off can never join it by IST.
        assert new_uuid != old_uuid
        for node in nodes[:-1]:
            assert lab.is_synced(node), node
            assert lab.wsrep(node)["wsrep_cluster_size"] == "2", node
            assert products(node) == expected, node
    finally:
        # Powered on again, it starts mariadb at boot with its old data and joins by itself.
        lab.start_container(nodes[-1])
    lab.wait_for(
        lambda: lab.is_synced(nodes[-1]) and lab.wsrep(nodes[-1])["wsrep_cluster_size"] == "3",
        300,
        f"{nodes[-1]} Synced in the restored cluster",
    )
    assert lab.wsrep(nodes[-1])["wsrep_local_state_uuid"] == new_uuid
    for node in nodes[1:]:
        journal = lab.docker_exec(node, "journalctl", "-u", "mariadb", "--no-pager").stdout
        # A full copy of the restored data, never an IST onto the old history.
        assert f"SST succeeded for position {new_uuid}" in journal, node
    assert products(nodes[-1]) == expected

    # Later writes reach every member; the table is the same everywhere.
    later = f"after-restore-{uuid.uuid4().hex[:8]}"
    lab.sql(nodes[0], f"INSERT INTO products (name, price, stock) VALUES ('{later}', 11, 2)", lab.DATABASE)
    lab.wait_for(
        lambda: all(
            lab.sql(n, f"SELECT COUNT(*) FROM products WHERE name = '{later}'", lab.DATABASE) == [["1"]] for n in nodes
        ),
        60,
        "the later write on every member",
    )
    checksums = {n: lab.sql(n, "CHECKSUM TABLE beauty.products")[0][1] for n in nodes}
    assert len(set(checksums.values())) == 1, checksums
