"""Every AI operation against a real model: success rate, mean duration and tokens per operation.

Starts llama.cpp's OpenAI-compatible server (llama-cpp-python, built once per
machine by scripts/ensure-llm-server) with SmolLM2-135M-Instruct on 127.0.0.1,
or uses ``--base-url`` if given, and runs each operation ``--runs`` times with
the sample inputs of `orbit.ai.samples`:

* ``interview turn``: the interviewer's next question, streamed (interview_message);
* ``backlog generation``: epic, then stories, then the tasks of every story, in the
  order the backlog_generation job asks for them - a run succeeds when all validate;
* ``activation``, ``execution``, ``commit message``: one structured call each.

    python -m bench.real_model --runs 10 --other-runs 5
    python -m bench.real_model --runs 10 --structured prompt
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.llm.llama_server import MODEL_ALIAS, LlamaServer, ensure_python, model_path

from orbit.ai import (
    AIConfig,
    AIError,
    CallRecord,
    EpicDraft,
    Provider,
    StoriesDraft,
    TasksDraft,
    create_provider,
    render_prompt,
)
from orbit.ai.prompts import PROMPT_SCHEMAS
from orbit.ai.samples import sample_variables


@dataclass
class Tally:
    """The runs of one operation."""

    name: str
    durations: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    estimated: bool = False

    def row(self) -> str:
        runs = len(self.durations)
        mean = statistics.mean(self.durations) if self.durations else 0.0
        tokens = statistics.mean(self.tokens) if self.tokens else 0.0
        mark = " (estimated)" if self.estimated else ""
        return (
            f"| {self.name} | {self.ok}/{runs} | {100 * self.ok / max(runs, 1):.0f} % "
            f"| {mean:.1f} s | {tokens:.0f}{mark} |"
        )


async def interview_turn(provider: Provider) -> None:
    prompt = render_prompt("interview.next_question", **sample_variables("interview.next_question"))
    async with provider.stream(prompt) as stream:
        completion = await stream.collect()
    if not completion.text.strip():
        raise AIError("empty interview turn")


async def backlog_generation(provider: Provider) -> None:
    variables = sample_variables("backlog.stories")
    epic = await provider.structured(
        render_prompt("backlog.epic", **sample_variables("backlog.epic")), EpicDraft
    )
    epic_fields = {"kind": "epic", **epic.model_dump()}
    drafts = await provider.structured(
        render_prompt("backlog.stories", **{**variables, "epic": epic_fields}), StoriesDraft
    )
    for story in drafts.stories:
        story_fields = {"kind": "story", **story.model_dump()}
        prompt = render_prompt("backlog.tasks", epic=epic_fields, story=story_fields)
        await provider.structured(prompt, TasksDraft)


def single(name: str) -> Callable[[Provider], Awaitable[None]]:
    async def run(provider: Provider) -> None:
        await provider.structured(
            render_prompt(name, **sample_variables(name)), PROMPT_SCHEMAS[name]
        )

    return run


OPERATIONS: dict[str, Callable[[Provider], Awaitable[None]]] = {
    "interview turn (stream)": interview_turn,
    "backlog generation (epic, stories, tasks)": backlog_generation,
    "activation": single("activation.fill"),
    "execution": single("execution.run"),
    "commit message": single("commit.message"),
}


async def measure(
    config: AIConfig, runs: int, other_runs: int, only: list[str] | None
) -> list[Tally]:
    tallies = []
    for name, operation in OPERATIONS.items():
        if only and not any(word in name for word in only):
            continue
        tally = Tally(name)
        for _ in range(runs if operation is backlog_generation else other_runs):
            records: list[CallRecord] = []
            provider = create_provider(config, recorder=records.append)
            started = time.monotonic()
            try:
                await operation(provider)
                tally.ok += 1
            except AIError as exc:
                tally.errors.append(str(exc))
            finally:
                await provider.aclose()
            tally.durations.append(time.monotonic() - started)
            tally.tokens.append(sum(r.tokens_in + r.tokens_out for r in records))
            tally.estimated |= any(r.estimated for r in records)
        tallies.append(tally)
        print(tally.row(), flush=True)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of backlog generation")
    parser.add_argument("--other-runs", type=int, default=5, help="runs of the other operations")
    parser.add_argument("--structured", default="auto")
    parser.add_argument("--base-url", help="an already running OpenAI-compatible server")
    parser.add_argument("--model", default=MODEL_ALIAS)
    parser.add_argument("--only", nargs="*", help="operations whose name contains a word")
    args = parser.parse_args()
    server = None
    base_url = args.base_url
    if base_url is None:
        python = ensure_python()
        server = LlamaServer(python, model_path(python))
        server.start()
        base_url = server.url
    config = AIConfig(
        provider="openai",
        model=args.model,
        base_url=base_url,
        structured=args.structured,
        timeout_seconds=180,
        max_retries=1,
    )
    print(
        f"# {args.model} at {base_url}, ORBIT_AI_STRUCTURED={args.structured}, "
        f"{args.runs} runs of backlog generation, {args.other_runs} of each other operation"
    )
    print("| operation | completed | success | mean duration | mean tokens (in+out) |")
    print("|---|---|---|---|---|")
    try:
        tallies = asyncio.run(measure(config, args.runs, args.other_runs, args.only))
    finally:
        if server is not None:
            server.stop()
    for tally in tallies:
        for error in sorted(set(tally.errors)):
            print(f"# {tally.name} failed: {error[:300]}")


if __name__ == "__main__":
    main()
