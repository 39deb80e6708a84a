"""One line on screen when a command's start-up is slow, instead of a silent terminal.

The first command after an install reads torch and Lightning from a cold disk and compiles their
bytecode: a minute or more on a busy machine, with nothing printed. A start that is quick says
nothing.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

NOTICE_AFTER_SECONDS = 5.0


@contextmanager
def notice_if_slow(doing: str, after: float = NOTICE_AFTER_SECONDS) -> Iterator[None]:
    """Print `doing` to stderr if the block is still running `after` seconds in (rank 0 only)."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        yield
        return
    timer = threading.Timer(after, lambda: print(doing, file=sys.stderr, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
