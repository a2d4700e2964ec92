"""Filters for the firewall role: which of the project's ufw rules the inventory no longer names.

ufw only adds rules; a host that left the inventory (a member moved to galera_retired, an
HAProxy moved to another laptop) would keep its access for good. `ufw show added` lists
every rule with its comment; the project's rules carry the comment prefix, so the ones not
in the wanted set can be deleted without touching the operator's own rules.
"""

import re

# One line of `ufw show added`, in the two forms ufw prints for the rules this role adds:
#   ufw allow from 172.31.5.12 to any port 4567 proto tcp comment 'beauty-galera galera'
#   ufw allow 22/tcp comment 'beauty-galera ssh'          (from anywhere)
_RULE = re.compile(
    r"^ufw allow (?:from (?P<src>\S+) to any port (?P<port>\d+) proto (?P<proto>tcp|udp)"
    r"|(?P<any_port>\d+)/(?P<any_proto>tcp|udp)) comment '(?P<comment>[^']*)'$"
)


def parse_added(lines, prefix):
    """The project's rules among `ufw show added` lines: {from, port, proto, comment} each."""
    rules = []
    for line in lines:
        match = _RULE.match(line.strip())
        if not match or not match["comment"].startswith(prefix + " ") and match["comment"] != prefix:
            continue
        if match["src"]:
            rules.append({"from": match["src"], "port": int(match["port"]), "proto": match["proto"]})
        else:
            rules.append({"from": "any", "port": int(match["any_port"]), "proto": match["any_proto"]})
        rules[-1]["comment"] = match["comment"]
    return rules


def firewall_stale_rules(lines, wanted, prefix):
    """The project's rules in `lines` (ufw show added) that are not in `wanted`.

    wanted: [{from, port, proto}, ...], `from` an address, a CIDR or 'any'.
    """
    keep = {(str(w["from"]), int(w["port"]), str(w["proto"])) for w in wanted}
    return [r for r in parse_added(lines, prefix) if (r["from"], r["port"], r["proto"]) not in keep]


class FilterModule:
    def filters(self):
        return {"firewall_stale_rules": firewall_stale_rules}
