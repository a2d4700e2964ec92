"""The report playbooks/status.yml prints: one table of the system's health and its problems.

status.yml's first plays gather, each on its own hosts, the facts this filter reads:
    galera members      ops_wsrep (wsrep status variables, {} when not read), ops_wsrep_error,
                        galera_node_name (the member's server name in HAProxy)
    galera_arbitrator   ops_garbd_raw (`systemctl is-active garb.service`)
    haproxy             ops_haproxy_servers ({server: {status, sessions, ...}}), ops_haproxy_error
    demo_app            ops_app_health (the uri result of GET /healthz)
A host a play did not reach (--limit, a failed host) has none of them, and reads as not read.
"""

# The callback wraps at 80 columns: the uuid gets lines of its own below the table.
_COLUMNS = "%-{width}s %-9s %4s %-9s %10s %-9s %s"
_HEADER = ("member", "state", "size", "status", "last_comm", "fc_paused", "haproxy (sessions)")
NOT_READ = "not read"


def _truncate(text, length, killwords=False, end="..."):
    # Jinja's truncate with its default leeway of 5, which status.yml's table was written with.
    text = str(text)
    if len(text) <= length + 5:
        return text
    if killwords:
        return text[: length - len(end)] + end
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


def _float(value):
    # Jinja's float filter: 0.0 for what is not a number.
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _int(value):
    # Jinja's int filter: '3' and '3.0' are 3, anything else 0.
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _get(mapping, key, fallback):
    # Ansible's `mapping.key | default(fallback)`: only a missing key takes the fallback.
    return mapping.get(key, fallback) if hasattr(mapping, "get") else fallback


def _garbd(facts):
    return _get(_get(facts, "ops_garbd_raw", {}), "stdout", "unreachable")


def galera_status_report(hostvars, *, members, arbitrators, proxies, apps, backend, expected_size):
    """{table: [lines], problems: [lines]} from the facts status.yml gathered (see above).

    hostvars maps each host to its facts; members, arbitrators, proxies and apps are the
    hosts of each group, in inventory order; backend is HAProxy's section of the members;
    expected_size the wsrep_cluster_size every member must report (members and garbd).
    """
    members, arbitrators, proxies, apps = list(members), list(arbitrators), list(proxies), list(apps)
    expected_size = int(expected_size)
    hosts = {host: hostvars[host] if host in hostvars else {} for host in members + arbitrators + proxies + apps}
    width = max([6] + [len(host) for host in members + arbitrators])
    columns = _COLUMNS.format(width=width)

    def wsrep(host):
        return _get(hosts[host], "ops_wsrep", {}) or {}

    def name(host):
        return _get(hosts[host], "galera_node_name", host)

    def servers(proxy):
        return _get(hosts[proxy], "ops_haproxy_servers", {}) or {}

    def proxy_error(proxy):
        return _get(hosts[proxy], "ops_haproxy_error", NOT_READ)

    def member_error(host):
        return _get(hosts[host], "ops_wsrep_error", NOT_READ)

    table = [columns % _HEADER]
    uuid_members = {}
    for host in members:
        w = wsrep(host)
        views = []
        for proxy in proxies:
            server = servers(proxy).get(name(host), {})
            views.append("%s (%s)" % (_get(server, "status", "?"), _get(server, "sessions", "?")))
        if w:
            uuid = _get(w, "wsrep_cluster_state_uuid", "?")
            uuid_members.setdefault(uuid, []).append(name(host))
            table.append(
                columns
                % (
                    host,
                    _truncate(_get(w, "wsrep_local_state_comment", "?"), 9, killwords=True, end=""),
                    _get(w, "wsrep_cluster_size", "?"),
                    _get(w, "wsrep_cluster_status", "?"),
                    _get(w, "wsrep_last_committed", "?"),
                    "%.6f" % _float(_get(w, "wsrep_flow_control_paused", 0)),
                    " ".join(views),
                )
            )
        else:
            table.append(columns % (host, "DOWN", "-", "-", "-", "-", " ".join(views)))
    for host in arbitrators:
        table.append(columns % (host, "garbd", "-", _garbd(hosts[host]), "-", "-", "arbitrator (no data)"))
    for uuid, names in uuid_members.items():
        table.append("cluster state uuid %s: %s" % (uuid, ", ".join(names)))
    for host in members:
        if not wsrep(host):
            table.append("%s: %s" % (host, member_error(host)))
    for proxy in proxies:
        if proxy_error(proxy):
            table.append("haproxy %s: runtime API not read: %s" % (proxy, proxy_error(proxy)))
    for app in apps:
        health = _get(hosts[app], "ops_app_health", {}) or {}
        if _get(health, "status", 0) == 200 and "json" in health:
            answer = "answers, database via %s" % _get(health["json"], "node", "?")
        else:
            status = _get(health, "status", "-")
            answer = "NOT ANSWERING (%s %s)" % (status, _truncate(_get(health, "msg", "not asked"), 60))
        table.append("app %s: %s" % (app, answer))

    problems = []
    uuids = []
    for host in members:
        w = wsrep(host)
        if not w:
            problems.append("%s: host or mariadb not answering (%s)" % (host, member_error(host)))
        else:
            if _get(w, "wsrep_local_state_comment", "") != "Synced":
                problems.append("%s: %s, not Synced" % (host, _get(w, "wsrep_local_state_comment", "?")))
            if _get(w, "wsrep_cluster_status", "") != "Primary":
                problems.append("%s: %s, not Primary" % (host, _get(w, "wsrep_cluster_status", "?")))
            if _get(w, "wsrep_ready", "") != "ON":
                problems.append("%s: wsrep_ready %s" % (host, _get(w, "wsrep_ready", "?")))
            if _int(_get(w, "wsrep_cluster_size", "0")) != expected_size:
                problems.append(
                    "%s: cluster size %s, expected %d%s"
                    % (
                        host,
                        _get(w, "wsrep_cluster_size", "?"),
                        expected_size,
                        " (members and garbd)" if arbitrators else "",
                    )
                )
            uuids.append(_get(w, "wsrep_cluster_state_uuid", ""))
        # Only proxies whose runtime API answered: the others are one problem each, below.
        for proxy in proxies:
            if not proxy_error(proxy):
                status = _get(servers(proxy).get(name(host), {}), "status", "missing")
                if status != "UP":
                    problems.append("%s: backend %s/%s is %s" % (proxy, backend, name(host), status))
    for host in arbitrators:
        if _garbd(hosts[host]) != "active":
            problems.append("%s: garbd %s, not active" % (host, _garbd(hosts[host])))
    distinct = list(dict.fromkeys(uuids))
    if len(distinct) > 1:
        problems.append("members disagree on the cluster state uuid: " + ", ".join(distinct))
    for proxy in proxies:
        if proxy_error(proxy):
            problems.append("%s: HAProxy runtime API not read (%s)" % (proxy, proxy_error(proxy)))
    for app in apps:
        if _get(_get(hosts[app], "ops_app_health", {}) or {}, "status", 0) != 200:
            problems.append("%s: app not answering /healthz" % app)

    # One line each, as the playbook prints them: an error may span lines of its own.
    return {"table": "\n".join(table).splitlines(), "problems": "\n".join(problems).splitlines()}


class FilterModule:
    def filters(self):
        return {"galera_status_report": galera_status_report}
