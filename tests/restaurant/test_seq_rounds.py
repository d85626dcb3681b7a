"""Pings answered in rounds: many sockets' "which seq is current?" read once per round."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync

from restaurant.sockets import SeqRounds

# The reads run in the sockets' threads, which close stale database connections around each call.
pytestmark = pytest.mark.django_db(transaction=True)


def test_questions_asked_within_a_round_are_read_once_and_each_gets_its_own_answer():
    reads: list[frozenset] = []

    def read(keys: frozenset) -> dict:
        reads.append(keys)
        return {key: key * 10 for key in keys if key != 3}

    async def run():
        rounds = SeqRounds.for_loop("test", read)
        first = await asyncio.gather(*(rounds.current(key) for key in (1, 2, 2, 3)))
        # A question after the round has been answered opens the next one.
        second = await rounds.current(4)
        return first, second

    first, second = async_to_sync(run)()

    assert first == [10, 20, 20, None]
    assert second == 40
    assert reads == [frozenset({1, 2, 3}), frozenset({4})]


def test_a_failed_read_fails_every_question_of_its_round_and_the_next_round_reads_again():
    calls = []

    def read(keys: frozenset) -> dict:
        calls.append(keys)
        if len(calls) == 1:
            raise ConnectionError("database away")
        return dict.fromkeys(keys, 7)

    async def run():
        rounds = SeqRounds.for_loop("test-failing", read)
        failed = await asyncio.gather(rounds.current(1), rounds.current(2), return_exceptions=True)
        return failed, await rounds.current(1)

    failed, healed = async_to_sync(run)()

    assert [type(error) for error in failed] == [ConnectionError, ConnectionError]
    assert healed == 7
