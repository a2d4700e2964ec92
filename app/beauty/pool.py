"""A per-process pool of database connections, handed out in turn so requests rotate nodes.

Why not DBUtils or SQLAlchemy's pool: DBUtils' SteadyDB silently reconnects and runs a
failed statement again, which would bypass db.run_write's retry rules; SQLAlchemy's pool
would bring SQLAlchemy (and greenlet) to every app host for one class, and neither opens
connections up to the pool size before reusing one, which is what lets a single client's
requests land on different Galera members: HAProxy balances per TCP connection, so the
pool keeps ``size`` connections and hands out the one idle longest (FIFO).

The rules (each has a test in tests/test_pool.py):
- a connection is reused only if the request that used it ended without any error and
  its ROLLBACK (at checkin, so no transaction outlives a request) succeeded;
- a connection older than ``max_age`` is closed rather than reused (a member that came
  back gets its share again), one idle longer than ``ping_after`` is pinged first;
- ``invalidate()`` (after a lost connection or a leaving node) drops every connection
  opened before it: they probably went through the same dead member;
- while a member that had connections in the last ``forget_after`` seconds has none
  (it was down, its connections went elsewhere), a checkout every ``probe_every``
  seconds opens a new connection instead, and one that reaches that member replaces an
  idle connection to a member that has two: a member that comes back is in the rotation
  again within about a second of HAProxy sending it traffic, not after ``max_age``.
"""

import collections
import threading
import time

import MySQLdb


class PooledState:
    """What the pool knows about one connection, kept on it as ``conn.pool_state``."""

    __slots__ = ("generation", "opened", "returned", "node", "tls_cipher", "sync_wait")

    def __init__(self, generation):
        self.generation = generation
        self.opened = self.returned = time.monotonic()
        self.node = None
        self.tls_cipher = None
        # The session's wsrep_sync_wait as set by db._prepare_read (None: server default).
        self.sync_wait = None


class ConnectionPool:
    def __init__(self, connect, size, max_age, ping_after, describe=None, probe_every=0.2, forget_after=600.0):
        self._connect = connect
        self._describe = describe
        self.size = size
        self.max_age = max_age
        self.ping_after = ping_after
        self.probe_every = probe_every
        self.forget_after = forget_after
        self._idle = collections.deque()
        self._lock = threading.Lock()
        self._generation = 0
        # Connections this pool opened and has not closed, idle or in use.
        self.open = 0
        # Open connections per member, and when each member last had one.
        self._per_node = collections.Counter()
        self._node_seen = {}
        self._last_probe = 0.0

    def _member_missing(self, now):
        return any(
            self._per_node[node] == 0 and now - seen < self.forget_after for node, seen in self._node_seen.items()
        )

    def _count(self, conn, delta):
        node = conn.pool_state.node
        if node is not None:
            self._per_node[node] += delta
            self._node_seen[node] = time.monotonic()

    def _usable(self, conn, now):
        state = conn.pool_state
        if state.generation != self._generation or now - state.opened > self.max_age:
            return False
        if now - state.returned > self.ping_after:
            try:
                conn.ping()
            except MySQLdb.Error:
                return False
        return True

    def checkout(self, fresh=False):
        """An idle connection (the longest idle), or a new one while fewer than ``size``
        are open or when ``fresh`` (a retry must not get another pooled connection)."""
        while not fresh:
            with self._lock:
                if self.open < self.size or not self._idle:
                    break
                now = time.monotonic()
                if now - self._last_probe >= self.probe_every and self._member_missing(now):
                    self._last_probe = now
                    break
                conn = self._idle.popleft()
            if self._usable(conn, time.monotonic()):
                return conn
            self._close(conn)
        return self._open_new()

    def _open_new(self):
        with self._lock:
            generation = self._generation
            self.open += 1
        try:
            conn = self._connect()
            conn.pool_state = PooledState(generation)
            if self._describe is not None:
                self._describe(conn)
            with self._lock:
                self._count(conn, +1)
        except BaseException:
            with self._lock:
                self.open -= 1
            if "conn" in locals():
                _quietly_close(conn)
            raise
        return conn

    def checkin(self, conn):
        """Give back a connection whose request ended cleanly; it is rolled back first."""
        try:
            conn.rollback()
        except MySQLdb.Error:
            self._close(conn)
            return
        now = time.monotonic()
        victim = None
        with self._lock:
            keep = conn.pool_state.generation == self._generation
            if keep and len(self._idle) >= self.size:
                # Full: keep this one only if it is the sole connection to its member.
                keep = self._per_node[conn.pool_state.node] == 1
                if keep:
                    doubles = [c for c in self._idle if self._per_node[c.pool_state.node] > 1]
                    victim = doubles[0] if doubles else None
                    keep = victim is not None
                    if keep:
                        self._idle.remove(victim)
            if keep:
                conn.pool_state.returned = now
                self._idle.append(conn)
        if victim is not None:
            self._close(victim)
        if not keep:
            self._close(conn)

    def discard(self, conn):
        """Close a connection that saw an error; it is never handed out again."""
        self._close(conn)

    def invalidate(self):
        """Retire every connection opened so far: idle ones now, busy ones at checkin."""
        with self._lock:
            self._generation += 1
            stale = list(self._idle)
            self._idle.clear()
        for conn in stale:
            self._close(conn)

    def _close(self, conn):
        with self._lock:
            self.open -= 1
            if hasattr(conn, "pool_state"):
                self._count(conn, -1)
        _quietly_close(conn)

    def close_all(self):
        self.invalidate()


def _quietly_close(conn):
    try:
        conn.close()
    except MySQLdb.Error:
        pass
