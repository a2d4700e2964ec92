"""Issue 2: the cluster as the seed's manual checks see it, plus what the role promises."""

import stat
import subprocess
import uuid

import MySQLdb
import pytest

import lab


def test_every_node_reports_one_synced_cluster_of_three(nodes):
    states = {n: lab.wsrep(n) for n in nodes}
    for node, s in states.items():
        assert s["wsrep_cluster_size"] == "3", f"{node}: {s['wsrep_cluster_size']}"
        assert s["wsrep_local_state_comment"] == "Synced", node
        assert s["wsrep_ready"] == "ON", node
        assert s["wsrep_cluster_status"] == "Primary", node
    assert len({s["wsrep_cluster_state_uuid"] for s in states.values()}) == 1


def test_seed_command_shows_cluster_size_three(nodes):
    out = lab.docker_exec(nodes[0], "mysql", "-e", "SHOW STATUS LIKE 'wsrep_cluster_size';").stdout
    assert "wsrep_cluster_size\t3" in out


def test_wsrep_node_names_follow_the_seed(nodes, node_names):
    for node in nodes:
        assert lab.sql(node, "SELECT @@wsrep_node_name")[0][0] == node_names[node]


def test_row_written_on_node1_is_read_on_the_others(nodes):
    marker = uuid.uuid4().hex
    lab.sql(
        nodes[0],
        "CREATE TABLE IF NOT EXISTS beauty.replication_probe (id INT AUTO_INCREMENT PRIMARY KEY, marker CHAR(32))",
    )
    lab.sql(nodes[0], f"INSERT INTO beauty.replication_probe (marker) VALUES ('{marker}')")
    for node in nodes[1:]:
        # Galera applies write-sets asynchronously on the others; sync_wait makes the read causal.
        rows = lab.sql(
            node, f"SET SESSION wsrep_sync_wait=1; SELECT marker FROM beauty.replication_probe WHERE marker='{marker}'"
        )
        assert rows == [[marker]], node


def test_durable_settings_and_no_bootstrap_flag_in_config(nodes):
    for node in nodes:
        assert lab.sql(node, "SELECT @@innodb_flush_log_at_trx_commit")[0][0] == "1"
        config = lab.docker_exec(node, "cat", "/etc/mysql/mariadb.conf.d/60-galera.cnf").stdout
        settings = [line for line in config.splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in settings if "new-cluster" in line or "new_cluster" in line]
        mode = lab.docker_exec(node, "stat", "-c", "%a %U:%G", "/etc/mysql/mariadb.conf.d/60-galera.cnf").stdout.split()
        assert mode == ["640", "root:mysql"], f"{node}: the config holds the SST password but is {mode}"


def test_joiners_received_their_copy_by_mariabackup(nodes):
    # mariadbd's own lines: it runs the joiner script and reports the transfer. The script's
    # lines ("mariabackup SST completed on joiner") were missing from one CI run's journal.
    for node in nodes[1:]:
        journal = lab.docker_exec(node, "journalctl", "-u", "mariadb", "--no-pager").stdout
        assert "wsrep_sst_mariabackup --role 'joiner'" in journal, f"{node}: no mariabackup joiner ran"
        assert "SST succeeded for position" in journal, f"{node}: no state transfer completed"


def _connect_through_haproxy(user, password):
    return MySQLdb.connect(
        host="127.0.0.1",
        port=lab.PORTS["frontend"],
        user=user,
        password=password,
        database=lab.DATABASE,
        connect_timeout=5,
    )


def test_app_user_is_limited_to_the_beauty_database():
    conn = _connect_through_haproxy(lab.APP_USER, lab.credential("db_app"))
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM products")
        with pytest.raises(MySQLdb.OperationalError) as denied:
            cur.execute("SELECT User FROM mysql.user")
        assert denied.value.args[0] == 1142  # SELECT command denied
        with pytest.raises(MySQLdb.OperationalError):
            cur.execute("CREATE USER 'intruder'@'%' IDENTIFIED BY 'x'")
    finally:
        conn.close()


def test_no_remote_root_no_anonymous_user_no_test_database(nodes):
    users = lab.sql(nodes[0], "SELECT User, Host FROM mysql.user")
    assert not [u for u in users if u[0] == "root" and u[1] != "localhost"], users
    assert not [u for u in users if u[0] == ""], users
    assert lab.sql(nodes[0], "SHOW DATABASES LIKE 'test'") == []


def test_remote_root_login_is_refused():
    with pytest.raises(MySQLdb.OperationalError):
        _connect_through_haproxy("root", "")


def test_generated_credentials_are_private():
    folder = lab.ROOT / "credentials" / "docker"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_secrets_are_not_in_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=lab.ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    secrets = [lab.credential(n) for n in ("db_admin", "db_app", "db_sst", "haproxy_stats", "app_secret_key")]
    for path in filter(None, tracked):
        p = lab.ROOT / path
        if p.is_file() and p.stat().st_size < 1_000_000:
            text = p.read_text(errors="ignore")
            assert not any(s in text for s in secrets), f"a generated secret appears in {path}"


def test_restarting_node1_keeps_one_cluster(nodes):
    before = lab.wsrep(nodes[0])["wsrep_cluster_state_uuid"]
    lab.docker_exec(nodes[0], "systemctl", "restart", "mariadb", timeout=300)
    lab.wait_for(lambda: lab.is_synced(nodes[0]), 120, f"{nodes[0]} Synced after restart")
    for node in nodes:
        s = lab.wsrep(node)
        assert s["wsrep_cluster_size"] == "3", node
        assert s["wsrep_cluster_state_uuid"] == before, f"{node} is in another cluster: a second bootstrap happened"


def test_every_member_runs_its_rejoin_watch(nodes):
    for node in nodes:
        for query in ("is-active", "is-enabled"):
            state = lab.docker_exec(node, "systemctl", query, "galera-rejoin", check=False).stdout.strip()
            assert state in ("active", "enabled"), f"{node}: galera-rejoin is {state}"
        user = lab.docker_exec(node, "systemctl", "show", "-p", "User", "--value", "galera-rejoin").stdout.strip()
        # Root: it restarts mariadb. The endpoint that faces the network stays unprivileged.
        assert user in ("", "root"), f"{node}: galera-rejoin runs as {user}"
        assert lab.docker_exec(node, "systemctl", "show", "-p", "User", "--value", "galera-health").stdout.strip() == (
            "clustercheck"
        )


def test_node_that_lost_power_rejoins_by_itself(nodes):
    victim = nodes[-1]
    lab.sql(
        nodes[0], "CREATE TABLE IF NOT EXISTS beauty.power_probe (id INT AUTO_INCREMENT PRIMARY KEY, marker CHAR(32))"
    )
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
    lab.wait_for(lambda: lab.wsrep(nodes[0]).get("wsrep_cluster_size") == "2", 30, "the others to see the loss")
    marker = uuid.uuid4().hex
    lab.sql(nodes[0], f"INSERT INTO beauty.power_probe (marker) VALUES ('{marker}')")
    lab.start_container(victim)
    lab.wait_for(lambda: lab.is_synced(victim), 180, f"{victim} to rejoin Synced with no help")
    assert lab.sql(victim, f"SELECT marker FROM beauty.power_probe WHERE marker='{marker}'") == [[marker]]
    assert lab.wsrep(victim)["wsrep_cluster_size"] == "3"
