"""HAProxy's view of one backend's servers, from its runtime API (the admin stats socket).

Run on an HAProxy host with the Python that Ansible already needs there (no socat):
    python3 haproxy_servers.py SOCKET BACKEND ["set server BACKEND/SERVER state drain"]
The optional command runs first; HAProxy answers a good one with nothing, so any answer is
an error. Prints {server: {"status": ..., "sessions": ..., "check": ...}} as JSON.
Used by the galera role (drain before a config restart), rolling_restart.yml and status.yml.
"""

import csv
import json
import socket
import sys


def ask(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(path)
        conn.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def servers(path, backend):
    rows = csv.DictReader(ask(path, "show stat").lstrip("# ").splitlines())
    return {
        row["svname"]: {
            "status": row["status"],
            "sessions": int(row["scur"] or 0),
            "check": row.get("check_status", ""),
        }
        for row in rows
        if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND")
    }


def main(argv):
    path, backend = argv[1], argv[2]
    if len(argv) > 3:
        answer = ask(path, argv[3]).strip()
        if answer:
            sys.exit(f"haproxy refused {argv[3]!r}: {answer}")
    print(json.dumps(servers(path, backend)))


if __name__ == "__main__":
    main(sys.argv)
