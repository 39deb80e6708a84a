"""Whether a run can write where it logs: asked before the run folder is made, not found out after."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.errors import Refusal

# A few pages: enough for a full disk to refuse the write, cheap everywhere else.
PROBE_BYTES = 16 * 1024


def check(folder: Path) -> None:
    """Write and remove a probe file in `folder` (or the nearest folder above it that exists)."""
    existing = folder.absolute()
    while not existing.is_dir() and existing != existing.parent:
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise Refusal(
            f"cannot write in {existing} ({reason}): make it writable, free space there, or log "
            "elsewhere with --trainer.logger.init_args.save_dir DIR"
        ) from None
