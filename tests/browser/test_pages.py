"""The Orbit pages in a real browser against a real server: every long action shows live
progress, survives a reload, can be cancelled, and keeps working without event streams.

Every wait is a condition with a deadline (Playwright's ``expect`` and
``wait_for_function``), never a fixed sleep.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import (
    Api,
    OrbitServer,
    Page,
    assert_monotonic_to_100,
    expect,
    record_tracker,
    samples,
)

STREAM_RECORDER = """
() => {
  const seen = [];
  window.__streamed = seen;
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('[data-testid=chat-message][data-streaming=true]')) {
      const text = el.querySelector('.orbit-chat__text')?.textContent ?? '';
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }
  }).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}
"""


def open_workspace(page: Page, server: OrbitServer, project_id: str) -> None:
    page.goto(f"{server.base_url}/#/projects/{project_id}")
    expect(page.get_by_test_id("project-page")).to_be_visible()
    expect(page.get_by_test_id("generate-backlog")).to_be_enabled()


def task_rows(page: Page) -> Any:
    return page.locator("[data-testid=backlog-item][data-kind=task]")


def test_interview_answers_stream_in(slow_server: OrbitServer, page: Page, shoot: Any) -> None:
    page.goto(f"{slow_server.base_url}/")
    expect(page.get_by_test_id("projects-list")).to_be_attached()
    page.get_by_test_id("new-project-name").fill("Recipes")
    page.get_by_test_id("new-project-description").fill("A recipe sharing app with meal planning")
    page.get_by_test_id("new-project-submit").click()

    expect(page.get_by_test_id("project-name")).to_have_text("Recipes")
    page.evaluate(STREAM_RECORDER)
    page.get_by_test_id("start-interview").click()
    # 201 at once; the first question is a job, shown as a pending assistant turn that
    # streams in and is then replaced by the saved message.
    messages = page.get_by_test_id("chat-message")
    expect(messages).to_have_count(1)
    expect(messages.first).to_have_attribute("data-role", "assistant")
    expect(messages.first).to_have_attribute("data-pending", "false")
    expect(messages.first).to_have_attribute("data-streaming", "false")
    question = messages.first.locator(".orbit-chat__text").inner_text()
    assert question.strip()
    assert any(question.startswith(text) for text in page.evaluate("window.__streamed"))

    answers = [
        "Home cooks who share recipes and plan their weekly meals",
        "They want a shopping list built from the week's plan",
    ]
    for turn, answer in enumerate(answers, start=1):
        page.get_by_test_id("chat-input").fill(answer)
        page.get_by_test_id("chat-send").click()
        # The answer shows at once; the reply streams in, then both are saved.
        expect(messages.nth(2 * turn - 1)).to_contain_text(answer)
        expect(messages).to_have_count(1 + 2 * turn)
        expect(page.locator("[data-testid=chat-message][data-pending=true]")).to_have_count(0)
        expect(messages.nth(2 * turn)).to_have_attribute("data-role", "assistant")
        expect(messages.nth(2 * turn)).to_have_attribute("data-streaming", "false")
        expect(page.get_by_test_id("chat-send")).to_be_disabled()  # empty draft, nothing running

    final = messages.nth(2 * len(answers)).locator(".orbit-chat__text").inner_text()
    streamed = page.evaluate("window.__streamed")
    partial = [text for text in streamed if len(text) < len(final) and final.startswith(text)]
    assert partial, f"no partial reply was shown while streaming: {streamed!r} (final {final!r})"
    assert final.strip()
    shoot(page, "project-interview")

    page.get_by_role("link", name="← Projects").click()
    expect(page.locator("[data-testid=project-link]", has_text="Recipes")).to_be_visible()
    shoot(page, "projects")


def test_backlog_progress_rises_monotonically(
    slow_server: OrbitServer, page: Page, shoot: Any
) -> None:
    project_id, _ = Api(slow_server).project_with_interview("Monotonic")
    open_workspace(page, slow_server, project_id)
    record_tracker(page, "backlog-progress")

    page.get_by_test_id("generate-backlog").click()
    expect(page.get_by_test_id("generate-backlog")).to_be_disabled()
    progress = page.get_by_test_id("backlog-progress")
    expect(progress).to_have_attribute("data-status", "running")
    shoot(page, "project-backlog-running")
    expect(progress).to_have_attribute("data-status", "completed", timeout=40_000)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(task_rows(page).first).to_be_visible()
    expect(page.get_by_test_id("backlog-summary")).to_contain_text("stories")
    expect(page.get_by_test_id("generate-backlog")).to_be_enabled()

    recorded = samples(page)
    values = assert_monotonic_to_100(recorded)
    assert len({v for v in values if v < 100}) >= 3, f"too few live updates: {values}"
    messages = {s["message"] for s in recorded}
    assert "Generating Epic from interview..." in messages, messages
    assert task_rows(page).count() >= 4
    shoot(page, "project-backlog")


def test_reload_mid_job_resumes_the_bar(slow_server: OrbitServer, page: Page) -> None:
    project_id, _ = Api(slow_server).project_with_interview("Reload")
    open_workspace(page, slow_server, project_id)
    page.get_by_test_id("generate-backlog").click()
    progress = page.get_by_test_id("backlog-progress")
    page.wait_for_function(
        """() => {
          const bar = document.querySelector('[data-testid=backlog-progress] [role=progressbar]');
          return bar && Number(bar.getAttribute('aria-valuenow')) >= 10;
        }"""
    )
    job_id = progress.get_attribute("data-job-id")
    before = int(progress.get_by_role("progressbar").get_attribute("aria-valuenow") or 0)

    page.reload()
    record_tracker(page, "backlog-progress")
    # The page finds the running job again and follows it to the end.
    expect(progress).to_have_attribute("data-job-id", job_id or "")
    expect(progress).to_have_attribute("data-status", "running")
    expect(page.get_by_test_id("generate-backlog")).to_be_disabled()
    expect(progress).to_have_attribute("data-status", "completed", timeout=40_000)
    expect(task_rows(page).first).to_be_visible()

    values = assert_monotonic_to_100(samples(page))
    assert values[0] >= before, f"after the reload the bar restarted below {before}: {values}"
    assert any(v < 100 for v in values), f"the bar only reappeared once complete: {values}"


def test_cancel_a_running_job_from_the_dashboard(
    slow_server: OrbitServer, page: Page, shoot: Any
) -> None:
    api = Api(slow_server)
    _, interview_id = api.project_with_interview("Cancel me")
    job_id = api.generate_backlog(interview_id)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)

    page.goto(f"{slow_server.base_url}/#/jobs")
    row = page.locator(f'[data-testid=job-row][data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "running")
    expect(row.get_by_test_id("job-progress")).to_have_attribute("data-mode", "sse")
    # One connection for the whole list: the jobs-wide stream, no stream per row.
    assert [url.split("?")[0] for url in streams] == [f"{slow_server.base_url}/api/v1/events"]
    shoot(page, "jobs-dashboard-running")
    row.get_by_test_id("cancel-button").click()

    expect(row).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(row.get_by_test_id("job-status")).to_have_text("cancelled")
    expect(row.get_by_test_id("retry-button")).to_be_visible()
    assert api.call("GET", f"/jobs/{job_id}")["status"] == "cancelled"
    expect(page.get_by_test_id("count-cancelled")).not_to_have_text("0")
    stats = page.locator('[data-testid=type-stats-row][data-job-type="backlog_generation"]')
    expect(stats.get_by_test_id("success-rate")).not_to_have_text("—")

    # Deleting a finished job works; the row goes away.
    row.get_by_test_id("delete-button").click()
    expect(row).to_have_count(0)
    assert api.http.get(f"/jobs/{job_id}").status_code == 404
    shoot(page, "jobs-dashboard")


def test_polling_takes_over_when_event_streams_are_blocked(
    slow_server: OrbitServer, page: Page
) -> None:
    blocked: list[str] = []

    def abort(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route("**/events**", abort)
    project_id, _ = Api(slow_server).project_with_interview("No streams")
    open_workspace(page, slow_server, project_id)
    record_tracker(page, "backlog-progress")

    page.get_by_test_id("generate-backlog").click()
    progress = page.get_by_test_id("backlog-progress")
    expect(progress).to_have_attribute("data-mode", "polling")
    expect(progress).to_have_attribute("data-status", "completed", timeout=40_000)
    expect(task_rows(page).first).to_be_visible()

    recorded = samples(page)
    values = assert_monotonic_to_100(recorded)
    assert any(v < 100 for v in values), f"no progress was seen before the end: {values}"
    assert "polling" in {s["mode"] for s in recorded}
    assert blocked, "no event stream was attempted"
    assert all("/events" in url for url in blocked)


def test_execute_all_with_per_task_progress_and_commits(
    fast_server: OrbitServer, page: Page, shoot: Any
) -> None:
    api = Api(fast_server)
    project_id, interview_id = api.project_with_interview("Execute")
    assert api.wait_job(api.generate_backlog(interview_id))["status"] == "completed"
    open_workspace(page, fast_server, project_id)
    tasks = task_rows(page)
    expect(tasks.first).to_be_visible()

    # Activate two tasks from their rows; each shows its own bar while its job runs.
    for index in (0, 1):
        tasks.nth(index).get_by_test_id("activate-button").click()
    for index in (0, 1):
        row = tasks.nth(index)
        expect(row.get_by_test_id("item-progress")).to_have_attribute("data-status", "completed")
        expect(row).to_have_attribute("data-status", "active")

    page.get_by_test_id("execute-all").click()
    overall = page.get_by_test_id("execute-all-progress")
    expect(overall).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(overall.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("execute-all-count")).to_have_text("2/2 tasks finished")
    for index in (0, 1):
        bar = tasks.nth(index).get_by_test_id("item-progress")
        expect(bar).to_have_attribute("data-status", "completed")

    tasks.first.get_by_test_id("commit-button").click()
    expect(page.get_by_test_id("commit-item")).to_have_count(1)
    page.get_by_test_id("manual-commit-description").fill("fix the login redirect")
    page.get_by_test_id("manual-commit-submit").click()
    expect(page.get_by_test_id("manual-commit-progress")).to_have_attribute(
        "data-status", "completed"
    )
    expect(page.get_by_test_id("commit-item")).to_have_count(2)
    expect(page.get_by_test_id("commits-list")).to_contain_text("fix")

    page.get_by_test_id("provision-button").click()
    expect(page.get_by_test_id("provision-progress")).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("provision-result")).to_contain_text("Workspace ready")
    shoot(page, "project-workspace")


def test_token_prompt_authenticates_requests_and_streams(
    token_server: OrbitServer, page: Page, shoot: Any
) -> None:
    api = Api(token_server)
    project_id, _ = api.project_with_interview("Guarded")
    page.goto(f"{token_server.base_url}/#/projects/{project_id}")
    prompt = page.get_by_test_id("token-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_have_count(1)
    shoot(page, "token-prompt")

    page.get_by_test_id("token-input").fill("wrong")
    page.get_by_test_id("token-submit").click()
    expect(page.get_by_test_id("token-reason")).to_contain_text("refused")
    page.get_by_test_id("token-input").fill(token_server.token or "")
    page.get_by_test_id("token-submit").click()
    expect(prompt).to_have_count(0)
    expect(page.get_by_test_id("project-name")).to_have_text("Guarded")
    assert page.evaluate("localStorage.getItem('orbit.token')") == token_server.token
    cookie = next(c for c in page.context.cookies() if c["name"] == "orbit_token")
    assert cookie["path"] == "/api"
    assert cookie["sameSite"] == "Strict"

    # The event stream is authenticated by the cookie: progress arrives over SSE.
    record_tracker(page, "backlog-progress")
    page.get_by_test_id("generate-backlog").click()
    progress = page.get_by_test_id("backlog-progress")
    expect(progress).to_have_attribute("data-status", "completed")
    recorded = samples(page)
    assert "sse" in {s["mode"] for s in recorded}, recorded
    assert "polling" not in {s["mode"] for s in recorded}, recorded
    assert_monotonic_to_100(recorded)
