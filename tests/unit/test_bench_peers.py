"""The peers benchmark's verdicts: Orbit against the best peer of the same database, with
rates compared up and latencies down (the harness itself runs outside pytest)."""

from __future__ import annotations

from bench.peers.__main__ import ROWS, ratios, table

KEYS = [key for key, *_ in ROWS]


def figures(**values: float | None) -> dict[str, float | None]:
    return {key: values.get(key) for key in KEYS}


def test_ratios_pick_the_best_peer_of_the_same_database_in_the_right_direction() -> None:
    results = {
        "orbit-postgresql": figures(enqueue_one=2000.0, pickup_p50_ms=4.0),
        "saq-postgresql": figures(enqueue_one=800.0, pickup_p50_ms=2.0),
        "procrastinate-postgresql": figures(enqueue_one=1000.0, pickup_p50_ms=8.0),
        "huey-sqlite": figures(enqueue_one=99999.0),
    }
    lines = ratios(results).splitlines()
    assert "enqueue one by one, jobs/s: Orbit 2.00x procrastinate-postgresql (ahead)" in lines[0]
    assert "Orbit 0.50x saq-postgresql (behind)" in lines[1]
    assert len(lines) == 2  # no Orbit on SQLite: no SQLite verdict; missing figures skipped


def test_the_table_shows_a_dash_where_a_system_has_no_such_verb() -> None:
    text = table({"huey-sqlite": figures(enqueue_one=1175.0)})
    assert "| enqueue one by one, jobs/s | 1,175 |" in text
    assert "| bulk enqueue, jobs/s | — |" in text
