"""``orbit ai check``: call the configured AI provider once per operation and show what works."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from orbit.cli.common import EXIT_FAILURE, EXIT_USAGE, JsonOutput, build_settings, fail, say, stdout
from orbit.cli.render import dumps

if TYPE_CHECKING:  # orbit.ai is imported when `orbit ai` runs, not by every CLI command
    from orbit.ai import Provider
    from orbit.ai.probe import Kind, ProbeResult

Operation = Annotated[
    list[str] | None,
    typer.Option(
        "--operation",
        "-o",
        help="Only this operation (repeatable), e.g. backlog.epic.",
        show_default=False,
    ),
]


def build() -> typer.Typer:
    """The ``ai`` command group."""
    app = typer.Typer(help="Check the configured AI provider.", no_args_is_help=True)
    app.command()(check)
    return app


def check(operation: Operation = None, json_output: JsonOutput = False) -> None:
    """One call per operation kind: model, structured mode, latency, usage; exit 1 on failure.

    The provider comes from the ORBIT_AI_* settings (provider, model, base URL,
    key, ORBIT_AI_STRUCTURED, timeout).
    """
    from orbit.ai import AIConfigError, create_provider
    from orbit.ai.probe import OPERATIONS

    settings = build_settings()
    chosen = [(name, kind) for name, kind in OPERATIONS if not operation or name in operation]
    unknown = sorted(set(operation or ()) - {name for name, _ in OPERATIONS})
    if unknown:
        fail(f"unknown operation {', '.join(unknown)}", EXIT_USAGE)
    try:
        provider = create_provider(settings.ai_config())
    except AIConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    say(f"checking {provider.name} model {provider.model} ({len(chosen)} calls)...")
    results = asyncio.run(_run(provider, chosen))
    if json_output:
        stdout().print(dumps([dataclasses.asdict(r) for r in results]), markup=False)
    else:
        stdout().print(render(results))
    failed = [r for r in results if not r.ok]
    for result in failed:
        say(f"{result.operation}: {result.error}")
    if failed:
        raise typer.Exit(EXIT_FAILURE)


async def _run(provider: Provider, chosen: list[tuple[str, Kind]]) -> list[ProbeResult]:
    from orbit.ai.probe import probe

    try:
        return await probe(provider, chosen)
    finally:
        await provider.aclose()


def render(results: list[ProbeResult]) -> Table:
    """The results as a table, one row per operation."""
    table = Table(
        "operation", "kind", "model", "mode", "latency", "tokens in/out", "usage", "result"
    )
    for r in results:
        table.add_row(
            r.operation,
            r.kind,
            r.model,
            r.mode or "-",
            f"{r.latency_ms / 1000:.1f}s",
            f"{r.tokens_in}/{r.tokens_out}",
            "reported" if r.usage_reported else "estimated",
            "ok" if r.ok else "FAILED",
        )
    return table
