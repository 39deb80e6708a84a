"""One error type for everything the project refuses to run, and the one place that reports it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class Refusal(Exception):
    """A request refused before it runs (a bad preset, missing hardware, nothing to resume, ...).

    The message names the setting and the fix; `reported` prints it as one `error:` line.
    """


@contextmanager
def reported() -> Iterator[None]:
    """Turn a Refusal into one `error: ...` line on stderr and exit status 2, as argparse does."""
    try:
        yield
    except Refusal as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
