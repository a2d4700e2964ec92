"""Filter for the monitoring role: the bcrypt hash Prometheus' web config wants for a password.

Prometheus (exporter-toolkit) checks basic-auth passwords against bcrypt hashes in its
--web.config.file. A hash with a random salt would differ on every run, rewrite the file
and restart Prometheus each time; so the salt is derived from the password itself. That
is safe for the generated (or vaulted) secrets this project uses: they are long random
strings, so two hosts never share a hash by guessing, and bcrypt's cost still applies.
"""

import base64
import hashlib

import bcrypt

# bcrypt's own base64 alphabet, in the order of the standard one.
_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = str.maketrans(_STANDARD, _BCRYPT)
# Prometheus checks a hash on every request it has not cached: 10 keeps that near 50 ms.
DEFAULT_COST = 10


def web_password_hash(password, cost=DEFAULT_COST):
    """Return a $2b$ bcrypt hash of `password`, the same every time for the same password."""
    if not isinstance(password, str) or not password:
        raise ValueError("web_password_hash needs a non-empty password string")
    cost = int(cost)
    if not 4 <= cost <= 16:
        raise ValueError("web_password_hash: cost must be 4 to 16, not %d" % cost)
    secret = password.encode()
    if len(secret) > 72:
        raise ValueError("web_password_hash: bcrypt reads at most 72 bytes of a password")
    digest = hashlib.sha256(b"beauty-galera web password salt\0" + secret).digest()[:16]
    salt = base64.b64encode(digest).decode().rstrip("=").translate(_TO_BCRYPT)
    return bcrypt.hashpw(secret, ("$2b$%02d$%s" % (cost, salt)).encode()).decode()


class FilterModule:
    def filters(self):
        return {"web_password_hash": web_password_hash}
