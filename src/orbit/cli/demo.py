"""``orbit demo``: the whole flow on the default setup, end to end over the real HTTP API.

It starts Orbit (API + embedded worker) on a free local port, then plays a user: a
project, an interview with three answers, backlog generation with a live progress bar,
activation of the first story's tasks, "execute all", and a commit message for one task.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.tree import Tree

from orbit.cli.common import DatabaseUrl, build_settings, engine_errors, fail, stdout
from orbit.settings import Settings

ANSWERS = (
    "A recipe sharing app where home cooks publish recipes with photos and ingredients.",
    "Weekly meal planning: pick recipes for each day and get a shopping list.",
    "Users sign in, follow other cooks, and rate recipes; mobile-friendly web first.",
)
DelayMs = Annotated[int, typer.Option("--delay-ms", help="Offline AI delay per call.")]


def demo(database_url: DatabaseUrl = None, delay_ms: DelayMs = 150) -> None:
    """Run the whole Orbit flow once and print what it produced."""
    settings = build_settings(database_url=database_url, offline_delay_ms=delay_ms)
    with (
        engine_errors(),
        _server(settings) as base_url,
        httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as api,
    ):
        project = _ok(api.post("/projects", json={"name": "Recipe Box", "description": ANSWERS[0]}))
        started = api.post("/interviews", json={"project_id": project["id"]})
        interview = _ok(started)
        out = stdout()
        out.print(f"[bold]Project[/] {project['name']}  ({project['id']})")
        # 201 at once; the first question comes from a job, like every other reply.
        out.print(f"[cyan]AI:[/] {_follow(api, started)['content']}")
        for answer in ANSWERS:
            out.print(f"[green]You:[/] {answer}")
            reply = _follow(
                api,
                api.post(
                    f"/interviews/{interview['id']}/send-message-async", json={"content": answer}
                ),
            )
            out.print(f"[cyan]AI:[/] {reply['content']}")
        made = _follow(api, api.post(f"/interviews/{interview['id']}/generate-prompts-async"))
        out.print(
            f"Backlog: epic {made['epic_created']['title']!r}, "
            f"{made['stories_created']} stories, {made['tasks_created']} tasks"
        )
        _run_tasks(api, project["id"])
        out.print(_tree(_ok(api.get(f"/projects/{project['id']}/backlog"))))


def _run_tasks(api: httpx.Client, project_id: str) -> None:
    backlog = _ok(api.get(f"/projects/{project_id}/backlog"))
    first_story = backlog[0]["children"][0]
    for task in first_story["children"]:
        _follow(api, api.post(f"/tasks/{task['id']}/activate"))
    batch = _follow(api, api.post(f"/tasks/projects/{project_id}/execute-all"))
    stdout().print(f"Executed {batch.get('executed')} tasks")
    commit = _follow(api, api.post(f"/commits/auto-generate/{first_story['children'][0]['id']}"))
    stdout().print(f"[bold]Commit:[/] {commit['message']}\n{commit.get('body', '')}")


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        fail(f"{response.request.method} {response.request.url.path}: {response.text}")
    return response.json()


def _follow(api: httpx.Client, accepted: httpx.Response) -> Any:
    """Follow a 202's job with a progress bar; return its result."""
    job_id = _ok(accepted)["job_id"]
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
    )
    with Progress(*columns, console=stdout(), transient=True) as bar:
        task = bar.add_task("…", total=100, message="")
        while True:
            job = _ok(api.get(f"/jobs/{job_id}"))
            bar.update(
                task,
                description=job["job_type"],
                message=job["progress_message"] or "",
                completed=max(bar.tasks[0].completed, job["progress_percent"] or 0),
            )
            if job["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.1)
    if job["status"] != "completed":
        fail(f"job {job_id} ({job['job_type']}) {job['status']}: {job['error']}")
    return job["result"]


def _tree(epics: list[dict[str, Any]]) -> Tree:
    root = Tree("[bold]Backlog[/]")

    def add(branch: Tree, item: dict[str, Any]) -> None:
        node = branch.add(f"{item['kind']}: {item['title']} [dim]({item['status']})[/]")
        for child in item.get("children", []):
            add(node, child)

    for epic in epics:
        add(root, epic)
    return root


@contextmanager
def _server(settings: Settings) -> Iterator[str]:
    """Orbit on a free local port, in a thread, for the length of the block."""
    from orbit.api import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="orbit-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            fail("the demo server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
