#!/usr/bin/env python3
"""Port reachability probe for the preflight checks (standard library only).

listen:  bind the given TCP and UDP ports on all addresses, tell systemd when ready
         (Type=notify), accept and close TCP connections, echo UDP datagrams, and exit
         after --seconds. A port already in use is left to its owner (a running MariaDB
         answers the peers' connects just as well).
connect: try every "name address port proto" target at once and print one JSON result
         per target: ok, or the reason (timed out, refused, no reply, ...).
"""

import argparse
import errno
import json
import os
import selectors
import socket
import sys
import threading
import time

PING = b"beauty-preflight"


def _notify_ready():
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.sendall(b"READY=1")


def listen(tcp_ports, udp_ports, seconds):
    sel = selectors.DefaultSelector()
    for proto, ports in (("udp", udp_ports), ("tcp", tcp_ports)):
        for port in ports:
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            sock = socket.socket(socket.AF_INET, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("0.0.0.0", port))
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    print(f"{port}/{proto} already in use; its owner answers instead", flush=True)
                    continue
                raise
            if proto == "tcp":
                sock.listen(64)
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, proto)
            print(f"listening on {port}/{proto}", flush=True)
    _notify_ready()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        for key, _ in sel.select(timeout=min(left, 1.0)):
            sock = key.fileobj
            try:
                if key.data == "tcp":
                    conn, _ = sock.accept()
                    conn.close()
                else:
                    data, peer = sock.recvfrom(512)
                    sock.sendto(data, peer)
            except OSError:
                pass


def _try(address, port, proto, timeout):
    if proto == "tcp":
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return "ok"
        except TimeoutError:
            return "timed out (packets dropped: a firewall, or the host is off the network)"
        except ConnectionRefusedError:
            return "connection refused (nothing listens there, or a firewall rejects it)"
        except OSError as exc:
            return exc.strerror or str(exc)
    # UDP has no handshake: ask the listener for an echo, a few times.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout / 3)
        for _ in range(3):
            try:
                sock.sendto(PING, (address, port))
                if sock.recvfrom(512)[0] == PING:
                    return "ok"
            except TimeoutError:
                continue
            except OSError as exc:
                return exc.strerror or str(exc)
    return "no reply (datagrams dropped: a firewall, or the host is off the network)"


def connect(targets, timeout):
    results = [None] * len(targets)

    def probe(i, target):
        name, address, port, proto = target
        results[i] = {
            "target": name,
            "address": address,
            "port": int(port),
            "proto": proto,
            "result": _try(address, int(port), proto, timeout),
        }

    threads = [threading.Thread(target=probe, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump(results, sys.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    lis = sub.add_parser("listen")
    lis.add_argument("--tcp", type=int, nargs="*", default=[])
    lis.add_argument("--udp", type=int, nargs="*", default=[])
    lis.add_argument("--seconds", type=float, default=60)
    con = sub.add_parser("connect")
    con.add_argument("--timeout", type=float, default=3)
    con.add_argument("targets", help='JSON list of ["name", "address", port, "proto"]')
    args = parser.parse_args()
    if args.mode == "listen":
        listen(args.tcp, args.udp, args.seconds)
    else:
        connect(json.loads(args.targets), args.timeout)


if __name__ == "__main__":
    main()
