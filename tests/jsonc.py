"""JSON with comments (JSONC): the dialect of VS Code's settings, launch, tasks and devcontainer.

`//` and `/* */` comments and trailing commas are allowed, as in VS Code; the rest is strict
JSON. Comments become spaces, so a syntax error still points at the right line and column.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str) -> Any:
    """Parse a JSONC document."""
    return json.loads(to_json(text))


def to_json(text: str) -> str:
    """`text` with comments and trailing commas blanked out: plain JSON of the same shape."""
    out: list[str] = []
    position = 0
    while position < len(text):
        end = _skip_comment(text, position)
        if end != position:
            out.append(_blank(text[position:end]))
            position = end
        elif text[position] == '"':
            end = _string_end(text, position)
            out.append(text[position:end])
            position = end
        elif text[position] == "," and _next_significant(text, position + 1) in ("}", "]"):
            out.append(" ")
            position += 1
        else:
            out.append(text[position])
            position += 1
    return "".join(out)


def _skip_comment(text: str, position: int) -> int:
    """The end of the comment starting at `position`, or `position` where none starts."""
    if text.startswith("//", position):
        newline = text.find("\n", position)
        return len(text) if newline == -1 else newline
    if text.startswith("/*", position):
        close = text.find("*/", position + 2)
        if close == -1:
            line = text.count("\n", 0, position) + 1
            raise ValueError(f"unterminated /* comment starting on line {line}")
        return close + 2
    return position


def _string_end(text: str, start: int) -> int:
    """The index just past the JSON string that opens at `start`."""
    position = start + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
        elif text[position] == '"':
            return position + 1
        else:
            position += 1
    raise ValueError(f"unterminated string starting on line {text.count(chr(10), 0, start) + 1}")


def _next_significant(text: str, position: int) -> str:
    """The first character from `position` on that is not whitespace or comment ('' at the end)."""
    while position < len(text):
        end = _skip_comment(text, position)
        if end != position:
            position = end
        elif text[position].isspace():
            position += 1
        else:
            return text[position]
    return ""


def _blank(comment: str) -> str:
    """A comment's replacement: spaces, keeping its line breaks."""
    return "".join(character if character == "\n" else " " for character in comment)
