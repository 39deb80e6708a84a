"""What a user reads: a run prints what it did, not advertisements or warnings they cannot act on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.cli import notice_if_slow

# How Python (and Lightning, which drops the category) prints a warning: "path/file.py:12: ...".
WARNING_LINE = re.compile(r"\.py:\d+: ")
ADVERTISEMENT = re.compile(r"Tip:|litlogger|litmodels")
# Lightning's list of devices this machine lacks.
ABSENT_DEVICE = re.compile(r"[GT]PU available: False")
# Some of Lightning's advice depends on the core count (more loader workers, above two cores): the
# process is told it has eight, as a laptop or a GPU box has, whatever runs the tests.
EIGHT_CORES = """import os
os.sched_getaffinity = lambda pid: set(range(8))
os.cpu_count = lambda: 8
"""


def test_a_debug_fit_prints_no_warning_and_no_advertisement(in_tmp_dir: Path) -> None:
    # A real process, as a user starts it: warnings reach the terminal as they would for them.
    (in_tmp_dir / "cores").mkdir()
    (in_tmp_dir / "cores" / "sitecustomize.py").write_text(EIGHT_CORES)
    path = os.pathsep.join(filter(None, [str(in_tmp_dir / "cores"), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "fit", "--preset", "debug"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": path}
    )
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert [line for line in lines if WARNING_LINE.search(line)] == []
    assert [line for line in lines if ADVERTISEMENT.search(line)] == []
    assert [line for line in lines if ABSENT_DEVICE.search(line)] == []
    # What it did is still there: the bar with its live loss, and the validation accuracy.
    assert any("loss=" in line and "val/acc=" in line for line in lines), lines


def test_a_slow_start_says_what_it_is_doing_and_a_quick_one_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with notice_if_slow("Loading torch...", after=0.05):
        time.sleep(0.5)
    assert capsys.readouterr().err == "Loading torch...\n"
    with notice_if_slow("Loading torch...", after=5):
        pass
    time.sleep(0.1)
    assert capsys.readouterr().err == ""
