"""Typed enqueue: ``@registry.job`` returns a handle typed from the handler's signature,
checked by mypy at the call site and by the signature at run time; ``wait_sync``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orbit.jobs import (
    IdempotencyKeyReused,
    JobClient,
    JobHandle,
    JobRegistry,
    JobStatus,
    SQLStore,
    open_store,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def st(db_url: str) -> Iterator[SQLStore]:
    opened = open_store(db_url)
    yield opened
    opened.close()


def hello_registry() -> tuple[JobRegistry, JobHandle[[str, int], dict[str, str]]]:
    registry = JobRegistry()

    @registry.job("hello", max_attempts=4)
    def hello(ctx: object, name: str, times: int = 1) -> dict[str, str]:
        return {"greeting": " ".join([f"hello {name}"] * times)}

    return registry, hello


def test_the_handle_enqueues_the_handlers_arguments_with_registry_defaults(st: SQLStore) -> None:
    registry, hello = hello_registry()
    client = JobClient(st, registry)
    job = hello.enqueue(client, "Ada", times=2)
    assert (job.job_type, job.input_data, job.max_attempts) == (
        "hello",
        {"name": "Ada", "times": 2},
        4,
    )
    urgent = hello.options(priority=9, idempotency_key="k").enqueue(client, name="Grace")
    assert (urgent.priority, urgent.input_data) == (9, {"name": "Grace"})
    assert hello.options(idempotency_key="k").enqueue(client, name="Grace").id == urgent.id
    with pytest.raises(IdempotencyKeyReused):
        hello.options(idempotency_key="k").enqueue(client, name="other")
    ids = hello.enqueue_many(client, [{"name": "a"}, {"name": "b", "times": 3}])
    assert [client.get(i).input_data for i in ids] == [{"name": "a"}, {"name": "b", "times": 3}]


def test_the_handle_stays_callable_like_its_handler() -> None:
    registry, hello = hello_registry()
    assert hello(None, "Ada", times=2) == {"greeting": "hello Ada hello Ada"}
    assert hello.__name__ == "hello" and registry.get("hello").handler is hello.handler


def test_wrong_arguments_fail_before_anything_is_stored(st: SQLStore) -> None:
    registry, hello = hello_registry()
    client = JobClient(st, registry)
    with pytest.raises(TypeError, match="hello"):
        hello.enqueue(client, nme="Ada")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="hello"):
        hello.enqueue_many(client, [{"name": "a"}, {"times": 2}])
    with pytest.raises(TypeError, match="unknown job option"):
        hello.options(priorty=1)
    assert sum(client.count_by_status().values()) == 0


SNIPPET = """
from orbit.jobs import JobClient, JobRegistry

registry = JobRegistry()

@registry.job("hello")
async def hello(ctx: object, name: str, times: int = 1) -> None: ...

def use(client: JobClient) -> None:
    hello.enqueue(client, {call})
"""


def test_mypy_reports_a_wrong_argument_and_accepts_a_right_one(tmp_path: Path) -> None:
    (tmp_path / "right.py").write_text(SNIPPET.format(call='name="Ada", times=2'))
    (tmp_path / "wrong.py").write_text(SNIPPET.format(call='name="Ada", times="two"'))
    (tmp_path / "misspelt.py").write_text(SNIPPET.format(call='nme="Ada"'))
    config = tmp_path / "mypy.ini"
    config.write_text(
        textwrap.dedent(f"""\
            [mypy]
            strict = True
            mypy_path = {ROOT / "src"}
            ignore_missing_imports = True
            cache_dir = {ROOT / ".mypy_cache"}
        """)
    )
    files = [str(tmp_path / f) for f in ("right.py", "wrong.py", "misspelt.py")]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *files],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    report = done.stdout
    assert "right.py" not in report, report
    assert 'wrong.py:10: error: Argument "times" to "enqueue" of "JobHandle"' in report, report
    assert 'misspelt.py:10: error: Unexpected keyword argument "nme"' in report, report


def test_wait_sync_runs_the_feed_on_a_private_loop_when_none_runs(st: SQLStore) -> None:
    client = JobClient(st)
    job = client.enqueue("a")
    (claimed,) = st.claim("w", None, 1, 300, job_ids=[job.id])
    finisher = threading.Timer(0.2, st.complete, args=(claimed.lease, {"ok": True}))
    started = time.monotonic()
    finisher.start()
    try:
        done = client.wait_sync(job.id, timeout=30)
    finally:
        finisher.join()
    assert time.monotonic() - started < 5, "woken by the change, not by the 5 s re-read"
    assert done.status is JobStatus.COMPLETED and done.result == {"ok": True}
    assert not st.feed.running, "the private loop's feed was closed with it"
    assert client.wait_sync(client.enqueue("b").id, timeout=0.1).status is JobStatus.PENDING


async def test_wait_sync_refuses_to_block_a_running_loop(st: SQLStore) -> None:
    client = JobClient(st)
    with pytest.raises(RuntimeError, match="await wait"):
        client.wait_sync(client.enqueue("a").id, timeout=1)


def test_wait_sync_follows_a_feed_another_threads_loop_runs(st: SQLStore) -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        asyncio.run_coroutine_threadsafe(st.feed.ensure_started(), loop).result(30)
        client = JobClient(st)
        job = client.enqueue("a")
        (claimed,) = st.claim("w", None, 1, 300, job_ids=[job.id])
        threading.Timer(0.2, st.complete, args=(claimed.lease, None)).start()
        assert client.wait_sync(job.id, timeout=30).status is JobStatus.COMPLETED
        assert st.feed.running, "the other loop's feed was used, not replaced"
    finally:
        asyncio.run_coroutine_threadsafe(st.feed.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()
