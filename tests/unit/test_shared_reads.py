"""``SharedReads``: subscribers woken together share one read; a read already under way is
never handed to a later asker (it may predate the change that woke it)."""

from __future__ import annotations

import asyncio

import pytest

from orbit.jobs.events import SharedReads


class Reads:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        return number


async def test_askers_of_one_turn_share_one_read() -> None:
    shared, reads = SharedReads(), Reads()
    askers = [asyncio.create_task(shared.read("k", reads)) for _ in range(10)]
    await asyncio.sleep(0)  # every asker asks, then the read starts
    reads.release.set()
    assert await asyncio.gather(*askers) == [1] * 10
    assert reads.calls == 1 and shared.busy == 0


async def test_an_asker_after_the_read_started_gets_a_read_of_its_own() -> None:
    shared, reads = SharedReads(), Reads()
    early = asyncio.create_task(shared.read("k", reads))
    while reads.calls == 0:
        await asyncio.sleep(0)  # the read is under way
    late = asyncio.create_task(shared.read("k", reads))
    other_key = asyncio.create_task(shared.read("other", reads))
    while reads.calls < 3:
        await asyncio.sleep(0)
    reads.release.set()
    assert (await early, await late, await other_key) == (1, 2, 3)


async def test_a_failed_read_fails_every_asker_and_a_gone_asker_leaves_the_rest() -> None:
    shared = SharedReads()

    async def broken() -> int:
        await asyncio.sleep(0)
        raise RuntimeError("database gone")

    askers = [asyncio.create_task(shared.read("k", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    askers[0].cancel()
    results = await asyncio.gather(*askers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [type(r) for r in results[1:]] == [RuntimeError, RuntimeError]
    with pytest.raises(RuntimeError):
        await shared.read("k", broken)
    assert shared.busy == 0
