"""The job page in a real browser: a backlog generation followed live from its page
(progress, status and the event timeline), cancelled and retried from there until it
completes, and the dashboard's filters kept in the address.

Every wait is a condition with a deadline (Playwright's ``expect``), never a fixed sleep.
"""

from __future__ import annotations

import re

from tests.browser.conftest import Api, OrbitServer, Page, expect

FINISH_MS = 60_000


def test_job_page_follows_cancels_and_retries(slow_server: OrbitServer, page: Page) -> None:
    api = Api(slow_server)
    _, interview_id = api.project_with_interview("Job page")
    job_id = api.generate_backlog(interview_id)

    page.goto(f"{slow_server.base_url}/#/jobs/{job_id}")
    expect(page.get_by_test_id("job-page")).to_be_visible()
    expect(page.get_by_test_id("job-title")).to_have_text(re.compile("backlog", re.I))
    expect(page.get_by_test_id("job-input")).to_contain_text(interview_id)
    status = page.get_by_test_id("job-status")
    expect(status).to_have_text("running")
    expect(page.get_by_test_id("job-worker")).not_to_have_text("—")
    expect(page.get_by_test_id("job-attempts")).to_have_text(re.compile(r"^1 of \d+$"))
    progress = page.locator("[data-testid=timeline-event][data-type=progress]")
    expect(progress.first).to_be_visible()
    assert page.get_by_test_id("job-page").get_attribute("data-stream") == "streaming"

    page.get_by_test_id("job-cancel").click()
    expect(status).to_have_text("cancelled")
    statuses = page.locator("[data-testid=timeline-event][data-type=status]")
    expect(statuses.last).to_contain_text("cancelled")
    expect(page.get_by_test_id("job-result")).to_have_count(0)
    assert api.call("GET", f"/jobs/{job_id}")["status"] == "cancelled"

    page.get_by_test_id("job-retry").click()
    expect(page.get_by_test_id("job-attempts")).to_have_text(re.compile(r"^2 of \d+$"))
    expect(status).to_have_text("completed", timeout=FINISH_MS)
    expect(page.get_by_test_id("job-result")).to_be_visible()
    expect(statuses.last).to_contain_text("completed")
    assert progress.count() > 1
    assert api.call("GET", f"/jobs/{job_id}")["status"] == "completed"


def test_dashboard_filters_live_in_the_address(slow_server: OrbitServer, page: Page) -> None:
    api = Api(slow_server)
    _, interview_id = api.project_with_interview("Filters")
    job_id = api.generate_backlog(interview_id)
    assert api.wait_job(job_id)["status"] == "completed"

    page.goto(f"{slow_server.base_url}/#/jobs?status=completed&type=backlog_generation")
    expect(page.get_by_test_id("filter-status")).to_have_value("completed")
    expect(page.get_by_test_id("filter-type")).to_have_value("backlog_generation")
    row = page.locator(f"[data-testid=job-row][data-job-id='{job_id}']")
    expect(row).to_be_visible()

    page.get_by_test_id("filter-status").select_option("failed")
    expect(page).to_have_url(re.compile(r"#/jobs\?status=failed&type=backlog_generation$"))
    expect(row).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("filter-status")).to_have_value("failed")

    page.get_by_test_id("filter-status").select_option("completed")
    row.get_by_test_id("job-link").click()
    expect(page).to_have_url(re.compile(f"#/jobs/{job_id}$"))
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.get_by_test_id("job-result")).to_be_visible()


def test_workspace_follows_its_jobs_over_one_project_stream(
    slow_server: OrbitServer, page: Page
) -> None:
    project_id, _ = Api(slow_server).project_with_interview("One stream")
    streams: list[str] = []
    page.on(
        "request", lambda request: streams.append(request.url) if "/events" in request.url else None
    )
    page.goto(f"{slow_server.base_url}/#/projects/{project_id}")
    expect(page.get_by_test_id("generate-backlog")).to_be_enabled()

    page.get_by_test_id("generate-backlog").click()
    progress = page.get_by_test_id("backlog-progress")
    expect(progress).to_have_attribute("data-status", "running")
    expect(progress).to_have_attribute("data-status", "completed", timeout=FINISH_MS)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")

    # Every live update came over the project's stream; no job opened a stream of its own.
    assert streams, "the page opened no event stream"
    assert all(f"/jobs/events?project_id={project_id}" in url for url in streams), streams
