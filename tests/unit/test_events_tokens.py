"""Stream tokens: signed, short-lived, bound to the API token."""

from __future__ import annotations

import pytest

from orbit.jobs.http import StreamTokens
from orbit.jobs.http.security import pop_query_param


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_valid_until_it_expires() -> None:
    clock = Clock()
    tokens = StreamTokens(b"api-token", ttl_seconds=60, clock=clock)
    token, expires_in = tokens.issue()
    assert expires_in == 60
    assert tokens.verify(token)
    clock.now += 60
    assert tokens.verify(token)
    clock.now += 1
    assert not tokens.verify(token)


def test_tokens_are_unique_and_bound_to_the_secret() -> None:
    tokens = StreamTokens(b"api-token")
    first, _ = tokens.issue()
    second, _ = tokens.issue()
    assert first != second
    assert not StreamTokens(b"other-token").verify(first)


@pytest.mark.parametrize(
    "forged",
    ["", "x", "1.2", "..", "abc.def.ghi", "9999999999.nonce.", "9" * 300],
)
def test_malformed_or_forged_tokens_are_refused(forged: str) -> None:
    assert not StreamTokens(b"api-token").verify(forged)


def test_a_changed_expiry_breaks_the_signature() -> None:
    tokens = StreamTokens(b"api-token")
    token, _ = tokens.issue()
    expires, nonce, signature = token.split(".")
    assert not tokens.verify(f"{int(expires) + 1}.{nonce}.{signature}")


def test_empty_secrets_and_lifetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        StreamTokens(b"")
    with pytest.raises(ValueError):
        StreamTokens(b"x", ttl_seconds=0)


def test_the_access_token_parameter_is_cut_out_of_the_query_string() -> None:
    scope = {"query_string": b"after=3&access_token=a.b.c&x=%20y&access_token=d"}
    assert pop_query_param(scope, b"access_token") == [b"a.b.c", b"d"]
    assert scope["query_string"] == b"after=3&x=%20y"
    untouched = {"query_string": b"after=3"}
    assert pop_query_param(untouched, b"access_token") == []
    assert untouched["query_string"] == b"after=3"
