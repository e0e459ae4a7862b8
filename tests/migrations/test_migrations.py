"""Migrations on both databases: upgrade equals the declared schema, and round-trips."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from orbit.jobs import JobSpec, migrate, open_store
from orbit.jobs.store.schema import jobs
from orbit.runtime import HISTORIES, upgrade_all


def test_upgrade_matches_the_declared_schema_and_round_trips(db_url: str) -> None:
    store = open_store(db_url)
    try:
        assert migrate.current(store.engine) == migrate.head()
        assert migrate.drift(store.engine) == []
        migrate.downgrade(store.engine)
        assert migrate.current(store.engine) is None
        assert not {"jobs", "job_events"} & set(sa.inspect(store.engine).get_table_names())
        migrate.upgrade(store.engine)
        assert migrate.current(store.engine) == migrate.head()
        assert migrate.drift(store.engine) == []
        assert "orbit_jobs_version" in sa.inspect(store.engine).get_table_names()
    finally:
        store.close()


def test_status_is_guarded_by_a_check_constraint(db_url: str) -> None:
    store = open_store(db_url)
    try:
        job = store.enqueue(JobSpec("t"))
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(sa.update(jobs).where(jobs.c.id == job.id).values(status="exploded"))
        assert store.get(job.id).status.value == "pending"
    finally:
        store.close()


def test_concurrent_upgrades_from_empty_both_succeed(db_url: str) -> None:
    store = open_store(db_url)
    for history in reversed(HISTORIES):
        history.downgrade(store.engine)
    errors: list[BaseException] = []

    def run() -> None:
        other = open_store(db_url)
        try:
            upgrade_all(other.engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(h.current(store.engine) == h.head() for h in HISTORIES)
    store.close()


OPTIONAL_INDEXES = {
    "ix_jobs_project_id": "project_id",
    "ix_jobs_interview_id": "interview_id",
    "ix_jobs_parent_id": "parent_id",
    "uq_jobs_idempotency_key_caller_job_type": "idempotency_key",
}


def _index_definitions(engine: sa.Engine) -> dict[str, str]:
    sql = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'jobs'"
    )
    with engine.connect() as conn:
        return {name: text or "" for name, text in conn.execute(sa.text(sql))}


def test_the_optional_columns_indexes_hold_only_rows_with_a_value(db_url: str) -> None:
    # drift() does not compare index predicates: read the definitions themselves.
    store = open_store(db_url)
    try:
        for revision, partial in (("0007", False), ("head", True)):
            if revision == "head":
                migrate.upgrade(store.engine)
            else:
                migrate.downgrade(store.engine, revision)
            found = _index_definitions(store.engine)
            for name, column in OPTIONAL_INDEXES.items():
                where = f"{column} IS NOT NULL" in found[name].replace("(", "").replace(")", "")
                assert where is partial, (revision, name, found[name])
    finally:
        store.close()
