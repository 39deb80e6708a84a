"""jsonargparse's nested report of a refused value, as one line that names the setting."""

from __future__ import annotations

import re

PARSER_KEY = re.compile(r'\s*(?:- )?Parser key "([^"]+)":\s*(.*)')
# The scaffolding of jsonargparse's report around the reason, which one line leaves out.
SCAFFOLDING = re.compile(
    r"\s*(- )?(Does not validate against any of the Union subtypes|Subtypes:|Errors:"
    r"|Problem with given class_path|Given value type:|Given value:)"
)


def one_line(message: str, help_hint: str) -> str:
    """`data.batch_size: Not of type PositiveInt: 0 does not conform to restriction v>0 (...)`.

    The keys of the nested parsers join into the setting's dotted name; the reason is the first
    line after the innermost key that is not part of the report's scaffolding.
    """
    lines = message.strip().splitlines()
    keys: list[str] = []
    reason = ""
    for line in lines:
        key = PARSER_KEY.fullmatch(line)
        if key:
            keys.append(key.group(1))
            reason = key.group(2)
        elif not reason and not SCAFFOLDING.match(line) and line.strip():
            reason = line.strip().removeprefix("- ")
        if reason and not key and keys:
            break
    given = next((line.split(":", 1)[1].strip() for line in lines if "Given value:" in line), "")
    if given and not given.startswith("NestedArg") and given not in reason:
        reason = f"{reason}, given {given}"
    text = f"{'.'.join(keys)}: {reason}" if keys else " ".join(line.strip() for line in lines)
    return f"{text} ({help_hint})"
