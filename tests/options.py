"""The template's options, read from cookiecutter.json, and every valid combination of them."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# Options with a fixed list of answers; the first answer of each is the default.
CHOICES: dict[str, list[str]] = {
    key: value
    for key, value in CONTEXT.items()
    if isinstance(value, list) and not key.startswith("_")
}


def is_valid(combination: dict[str, str]) -> bool:
    """Whether the pre-generation hook accepts this combination (every one, so far)."""
    return True


def all_combinations() -> list[dict[str, str]]:
    """Every valid combination of the choice options."""
    keys = list(CHOICES)
    combinations = [dict(zip(keys, values)) for values in itertools.product(*CHOICES.values())]
    return [combination for combination in combinations if is_valid(combination)]


def ci_workflow_combinations() -> list[dict[str, str]]:
    """The bakes whose CI workflow test_clean_machine.py runs: one per Python, the n-th Python
    with the n-th answer of every other option (cycling), so that these full runs, in fresh
    environments, cover as many answers as they can and covering_combinations() adds few."""
    pythons = CHOICES["python_version"]
    return [
        {key: values[index % len(values)] for key, values in CHOICES.items()}
        for index in range(len(pythons))
    ]


def covering_combinations(
    covered: list[dict[str, str]] | None = None,
) -> list[dict[str, str]]:
    """Few valid combinations in which every answer of every option appears at least once,
    besides those of the `covered` combinations (checked elsewhere)."""
    remaining = {(key, value) for key, values in CHOICES.items() for value in values}
    for combination in covered or []:
        remaining -= set(combination.items())
    candidates = all_combinations()
    chosen: list[dict[str, str]] = []
    while remaining:
        best = max(
            candidates,
            key=lambda combination: len(set(combination.items()) & remaining),
        )
        chosen.append(best)
        remaining -= set(best.items())
    return chosen


def label(combination: dict[str, str]) -> str:
    return "-".join(combination.values())


def options_table() -> str:
    """The Markdown table of options that docs/guide.md shows, generated from cookiecutter.json."""
    prompts = CONTEXT["__prompts__"]
    rows = ["| option | prompt | default | answers |", "|---|---|---|---|"]
    for key, value in CONTEXT.items():
        if key.startswith("_"):
            continue
        prompt = prompts[key]["__prompt__"] if isinstance(prompts[key], dict) else prompts[key]
        default = f"`{value[0] if isinstance(value, list) else value}`"
        if "{{" in default:
            default = "from " + ", ".join(
                f"`{name}`" for name in re.findall(r"cookiecutter\.(\w+)", default)
            )
        answers = (
            ", ".join(f"`{choice}`" for choice in value) if isinstance(value, list) else "free text"
        )
        rows.append(f"| `{key}` | {prompt} | {default} | {answers} |")
    return "\n".join(rows)


TABLE_START = "<!-- options-table:"
TABLE_END = "<!-- end options-table -->"


def with_options_table(document: str, table: str) -> str:
    """`document` with the text between the options-table markers replaced by `table`."""
    head, start, rest = document.partition(TABLE_START)
    marker_line, newline, rest = rest.partition("\n")
    _, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(f"the document lacks the {TABLE_START} … {TABLE_END} markers")
    return f"{head}{start}{marker_line}{newline}{table}\n{end}{tail}"
