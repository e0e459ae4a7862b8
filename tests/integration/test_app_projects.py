"""Projects over HTTP on both databases: create, list, read, and the backlog tree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.planning.schema import backlog_items

PROBLEM = "application/problem+json"


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_and_read_a_project(app_client: TestClient) -> None:
    made = create(app_client, name="  Recipe planner ", description="Plan meals for the week")
    assert set(made) == {"id", "name", "description", "created_at"}
    assert made["name"] == "Recipe planner"
    assert made["description"] == "Plan meals for the week"
    assert dt.datetime.fromisoformat(made["created_at"]).tzinfo is not None

    read = app_client.get(f"/api/v1/projects/{made['id']}")
    assert read.status_code == 200
    assert read.json() == made

    bare = create(app_client, name="No description")
    assert bare["description"] is None


def test_projects_are_listed_newest_first(app_client: TestClient) -> None:
    names = [f"project {n}" for n in range(3)]
    ids = [create(app_client, name=name)["id"] for name in names]
    listed = app_client.get("/api/v1/projects").json()
    assert [p["id"] for p in listed] == list(reversed(ids))
    assert [p["name"] for p in listed] == list(reversed(names))


def test_unknown_project_is_a_404_problem(app_client: TestClient) -> None:
    missing = uuid.uuid4()
    for path in (f"/api/v1/projects/{missing}", f"/api/v1/projects/{missing}/backlog"):
        response = app_client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["type"].endswith("/project-not-found")
        assert str(missing) in body["detail"]


def test_invalid_project_bodies_are_422_problems(app_client: TestClient) -> None:
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 5}):
        response = app_client.post("/api/v1/projects", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
    assert app_client.get("/api/v1/projects").json() == []
    assert create(app_client, name="x" * 200)["name"] == "x" * 200


def add_item(
    client: TestClient,
    project_id: str,
    kind: str,
    title: str,
    position: int,
    parent: uuid.UUID | None = None,
) -> uuid.UUID:
    engine: sa.Engine = client.app.state.planning.engine  # type: ignore[attr-defined]
    item_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(backlog_items),
            {
                "id": item_id,
                "project_id": uuid.UUID(project_id),
                "parent_id": parent,
                "kind": kind,
                "title": title,
                "description": f"about {title}",
                "details": {"points": position},
                "status": "suggested",
                "position": position,
                "created_at": now,
                "updated_at": now,
            },
        )
    return item_id


def test_backlog_is_a_tree_of_epics_ordered_by_position(app_client: TestClient) -> None:
    project = create(app_client, name="Tree")["id"]
    other = create(app_client, name="Other")["id"]
    add_item(app_client, other, "epic", "not mine", 0)
    assert app_client.get(f"/api/v1/projects/{project}/backlog").json() == []

    second = add_item(app_client, project, "epic", "Epic B", 1)
    first = add_item(app_client, project, "epic", "Epic A", 0)
    story_2 = add_item(app_client, project, "story", "Story A2", 2, first)
    add_item(app_client, project, "story", "Story A1", 1, first)
    task = add_item(app_client, project, "task", "Task", 0, story_2)
    add_item(app_client, project, "subtask", "Subtask", 0, task)

    tree = app_client.get(f"/api/v1/projects/{project}/backlog").json()
    assert [epic["title"] for epic in tree] == ["Epic A", "Epic B"]
    epic_a = tree[0]
    assert set(epic_a) == {
        "id",
        "kind",
        "title",
        "description",
        "status",
        "details",
        "position",
        "children",
    }
    assert epic_a["id"] == str(first) and epic_a["kind"] == "epic"
    assert epic_a["status"] == "suggested" and epic_a["details"] == {"points": 0}
    assert [s["title"] for s in epic_a["children"]] == ["Story A1", "Story A2"]
    tasks = epic_a["children"][1]["children"]
    assert [(t["kind"], t["title"]) for t in tasks] == [("task", "Task")]
    assert [(s["kind"], s["title"]) for s in tasks[0]["children"]] == [("subtask", "Subtask")]
    assert tasks[0]["children"][0]["children"] == []
    assert tree[1]["id"] == str(second) and tree[1]["children"] == []
