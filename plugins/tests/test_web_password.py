"""Unit tests of the web password filter (plugins/filter/web_password.py)."""

import bcrypt
import pytest
from web_password import FilterModule, web_password_hash


def test_the_hash_checks_the_password_and_no_other():
    hashed = web_password_hash("Zx81SpectrumQL2024abcdef").encode()
    assert bcrypt.checkpw(b"Zx81SpectrumQL2024abcdef", hashed)
    assert not bcrypt.checkpw(b"Zx81SpectrumQL2024abcdeg", hashed)


def test_the_same_password_gives_the_same_hash_so_a_rerun_changes_nothing():
    assert web_password_hash("secret-one-xyz") == web_password_hash("secret-one-xyz")


def test_different_passwords_get_different_salts():
    first, second = web_password_hash("secret-one-xyz"), web_password_hash("secret-two-xyz")
    assert first[:29] != second[:29]


def test_the_cost_is_written_into_the_hash():
    assert web_password_hash("p4ssw0rd-long", cost=4).startswith("$2b$04$")
    assert web_password_hash("p4ssw0rd-long").startswith("$2b$10$")


@pytest.mark.parametrize(
    "password, cost, message",
    [("", 10, "non-empty"), (None, 10, "non-empty"), ("x" * 73, 10, "72 bytes"), ("ok-password", 3, "cost")],
)
def test_unusable_input_is_refused_with_its_reason(password, cost, message):
    with pytest.raises(ValueError, match=message):
        web_password_hash(password, cost)


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["web_password_hash"] is web_password_hash
