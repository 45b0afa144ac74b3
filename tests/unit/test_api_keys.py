"""The API key ring: a key issued after the ring was read works without waiting for the
cache to expire, a flood of wrong keys reads the secret at most once per interval, and a
secret without a value (as the stack creates it) holds no keys. A fake Secrets Manager
client and a fake clock (which also ages powertools Parameters' cache): no network, no
sleeping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from botocore.exceptions import ClientError

from backorders.adapters.api_keys import ApiKeyRing, KeyRingUnavailable, add_key, digest, list_keys

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-keys"


class FakeSecrets:
    """The two Secrets Manager calls the key ring and ``add_key`` make."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value  # None: the secret exists but has no value yet
        self.reads = 0
        self.broken = False

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        assert SecretId == ARN
        self.reads += 1
        if self.broken:
            raise ClientError({"Error": {"Code": "InternalServiceError", "Message": "down"}}, "GetSecretValue")
        if self.value is None:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "no value for AWSCURRENT"}},
                "GetSecretValue",
            )
        return {"SecretString": self.value}

    def put_secret_value(self, SecretId: str, SecretString: str) -> dict[str, Any]:
        assert SecretId == ARN
        self.value = SecretString
        return {}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secrets() -> FakeSecrets:
    return FakeSecrets()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The ring's clock, and the one Parameters ages its cache by (``datetime.now()`` in
    its base module), so that the cache expires when the test says and not in real time."""
    fake = FakeClock()
    start = datetime(2026, 12, 1)

    class FakeNow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return start + timedelta(seconds=fake.now)

    monkeypatch.setattr(parameters_base, "datetime", FakeNow)
    return fake


@pytest.fixture
def ring(secrets: FakeSecrets, clock: FakeClock) -> ApiKeyRing:
    return ApiKeyRing(ARN, client=secrets, max_age=300, min_interval=5, clock=clock)


def test_a_key_issued_after_the_ring_was_read_works_at_once(
    ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock
) -> None:
    first = add_key(secrets, ARN, "books")
    assert ring.shop_for(first) == "books"  # the ring is read now and kept
    clock.now += 10
    second = add_key(secrets, ARN, "pens")
    assert ring.shop_for(second) == "pens"  # not in the copy: read again, long before max_age
    assert secrets.reads == 2 + 2  # two by the ring, two by add_key


def test_a_flood_of_wrong_keys_reads_the_secret_once_per_interval(
    ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock
) -> None:
    add_key(secrets, ARN, "books")
    secrets.reads = 0
    for n in range(241):  # a wrong key every 0.25 s for 60 s
        assert ring.shop_for(f"bo_wrong-{n}") is None
        clock.now += 0.25
    assert secrets.reads == 1 + 60 // 5  # the first read, then one per 5 s


def test_a_new_key_presented_within_the_interval_of_a_read_works_once_it_has_passed(
    ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock
) -> None:
    assert ring.shop_for("bo_unknown") is None  # read at t
    clock.now += 1
    key = add_key(secrets, ARN, "books")
    clock.now += 1
    assert ring.shop_for(key) is None  # t + 2: the ring was read 2 s ago
    clock.now += 3
    assert ring.shop_for(key) == "books"  # t + 5


def test_a_known_key_does_not_read_the_secret_again_until_max_age(
    ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock
) -> None:
    key = add_key(secrets, ARN, "books")
    secrets.reads = 0
    for _ in range(120):  # every 2.9 s for 345 s
        assert ring.shop_for(key) == "books"
        clock.now += 2.9
    assert secrets.reads == 2  # at the start and once 300 s had passed


def test_a_removed_key_stops_working_after_max_age(ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock) -> None:
    key = add_key(secrets, ARN, "books")
    assert ring.shop_for(key) == "books"
    secrets.value = json.dumps({"keys": []})  # the key was removed from the secret
    clock.now += 299
    assert ring.shop_for(key) == "books"  # the copy is still young
    clock.now += 1.001  # Parameters keeps a value max_age seconds, the last one included
    assert ring.shop_for(key) is None


def test_a_secret_without_a_value_holds_no_keys(ring: ApiKeyRing, secrets: FakeSecrets) -> None:
    assert secrets.value is None  # as the stack creates it
    assert ring.shop_for("bo_anything") is None
    assert list_keys(secrets, ARN) == []


def test_a_failed_read_keeps_the_copy_and_waits_an_interval(
    ring: ApiKeyRing, secrets: FakeSecrets, clock: FakeClock
) -> None:
    key = add_key(secrets, ARN, "books")
    assert ring.shop_for(key) == "books"
    secrets.broken = True
    secrets.reads = 0
    clock.now += 301  # past max age: a read is due, and fails
    assert ring.shop_for(key) == "books"
    assert secrets.reads == 1
    assert ring.shop_for("bo_wrong") is None  # within the interval of the failed read: no retry
    clock.now += 4
    assert ring.shop_for(key) == "books"
    assert secrets.reads == 1
    clock.now += 1  # an interval after the failed read: the next request tries again
    secrets.broken = False
    assert ring.shop_for(key) == "books"
    assert secrets.reads == 2


def test_without_any_copy_a_failed_read_is_unavailable_not_unknown(ring: ApiKeyRing, secrets: FakeSecrets) -> None:
    secrets.broken = True
    with pytest.raises(KeyRingUnavailable):
        ring.shop_for("bo_anything")


def test_issuing_stores_only_the_digest_with_the_shop(secrets: FakeSecrets) -> None:
    first = add_key(secrets, ARN, "books")
    second = add_key(secrets, ARN, "books")
    assert first != second
    assert first.startswith("bo_") and len(first) == 3 + 32
    stored = secrets.value or ""
    assert first not in stored and second not in stored
    assert [(k.id, k.shop, k.sha256) for k in list_keys(secrets, ARN)] == [
        ("k1", "books", digest(first)),
        ("k2", "books", digest(second)),
    ]


def test_a_new_key_id_follows_the_highest_one_left(secrets: FakeSecrets) -> None:
    secrets.value = json.dumps({"keys": [{"id": "k3", "shop": "pens", "sha256": "0" * 64}]})
    add_key(secrets, ARN, "books")
    assert [k.id for k in list_keys(secrets, ARN)] == ["k3", "k4"]


@pytest.mark.parametrize("shop", ["", "Books", "-books", "books/eu", "b" * 33])
def test_shop_ids_are_checked_before_anything_is_written(secrets: FakeSecrets, shop: str) -> None:
    with pytest.raises(ValueError, match="shop ids"):
        add_key(secrets, ARN, shop)
    assert secrets.value is None
