"""Filters that read a Galera member's state: its grastate.dat and its wsrep status variables.

The galera role's probes (tasks/probe.yml, recover_probe.yml, recover_positions.yml) and the
day-2 playbooks read the same two things; these filters are the one place that parses them.
"""

import re

# The uuid a member writes before it has ever been part of a cluster.
ZERO_UUID = "00000000-0000-0000-0000-000000000000"

_GRASTATE_LINE = re.compile(r"^\s*(uuid|seqno|safe_to_bootstrap):\s*(\S+)", re.MULTILINE)


def galera_grastate(text):
    """grastate.dat's text as {uuid, seqno, safe_to_bootstrap, has_state, crashed}.

    A missing or empty file (pass '') reads as no state: uuid '', seqno -1. `crashed` is true
    only when the file records seqno -1, which Galera writes while mariadb runs and rewrites
    on a clean stop: the position is then known only to `mariadbd --wsrep-recover`.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise TypeError("galera_grastate expects grastate.dat's text, got %r" % (text,))
    fields = {}
    for key, value in _GRASTATE_LINE.findall(text):
        fields.setdefault(key, value)
    uuid = fields.get("uuid", "")
    recorded = re.fullmatch(r"-?\d+", fields.get("seqno", ""))
    seqno = int(recorded.group()) if recorded else -1
    return {
        "uuid": uuid,
        "seqno": seqno,
        "safe_to_bootstrap": fields.get("safe_to_bootstrap") == "1",
        "has_state": uuid not in ("", ZERO_UUID),
        "crashed": bool(recorded) and seqno == -1,
    }


def galera_status_rows(output):
    """`mariadb --batch --skip-column-names` output of two columns (name, value) as a dict.

    Takes the command's stdout or stdout_lines. Columns are split at the first run of tabs or
    spaces; a value may hold spaces of its own. An empty value stays '' (the CLI prints
    nothing after the tab); blank lines are skipped.
    """
    if output is None:
        return {}
    lines = output.splitlines() if isinstance(output, str) else list(output)
    rows = {}
    for line in lines:
        if not isinstance(line, str):
            raise TypeError("galera_status_rows expects lines of text, got %r" % (line,))
        columns = line.split(None, 1)
        if columns:
            rows[columns[0]] = columns[1].strip() if len(columns) == 2 else ""
    return rows


class FilterModule:
    def filters(self):
        return {"galera_grastate": galera_grastate, "galera_status_rows": galera_status_rows}
