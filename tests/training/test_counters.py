"""Counters: counting up under a key in one statement, deleting ended rate-limit windows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.housekeeping import housekeeping_run
from tests.evaluation.helpers import aware
from training.counters import (
    counter_increment,
    counter_value,
    counters_delete_expired,
    counters_increment,
)
from training.models import Counter

pytestmark = pytest.mark.django_db


def test_a_count_starts_from_one_and_each_key_counts_alone() -> None:
    assert counter_value(key="a") == 0

    assert [counter_increment(key="a") for _ in range(3)] == [1, 2, 3]
    assert counter_increment(key="b") == 1
    assert counter_value(key="a") == 3
    assert counter_value(key="b") == 1


def test_counting_is_one_statement() -> None:
    counter_increment(key="warm")
    with CaptureQueriesContext(connection) as queries:
        counter_increment(key="warm")
        counter_increment(key="new")
    assert len(queries) == 2, [query["sql"] for query in queries]


def test_the_first_counts_expiry_is_kept_and_housekeeping_deletes_ended_windows() -> None:
    ends = aware(2030, 3, 10, 9, 31)
    counter_increment(key="window", expires_at=ends)
    counter_increment(key="window", expires_at=aware(2030, 3, 10, 9, 45))
    counter_increment(key="version")  # no expiry: kept for good
    assert Counter.objects.get(key="window").expires_at == ends

    assert counters_delete_expired(now=aware(2030, 3, 10, 9, 30)) == 0
    result = housekeeping_run(now=aware(2030, 3, 10, 9, 32))

    assert result["rate_limit_windows_deleted"] == 1
    assert counter_value(key="window") == 0
    assert counter_value(key="version") == 1


def test_a_rate_limited_page_counts_in_the_database(client: Any) -> None:
    client.get(reverse("evaluation:survey", args=["not-a-real-token"]))
    assert Counter.objects.filter(key__startswith="ratelimit:survey:ip:").get().value == 1


def test_several_keys_count_in_one_statement() -> None:
    counter_increment(key="address")
    with CaptureQueriesContext(connection) as queries:
        counts = counters_increment(keys=["address", "account"])
    assert counts == {"address": 2, "account": 1}
    assert len(queries) == 1
