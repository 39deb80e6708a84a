"""`bench` compares this project's loop with a plain PyTorch loop on the same data path."""

from __future__ import annotations

import re

import pytest

from {{ cookiecutter.package_name }}.infra.cli import main

# workload, setting, plain loop and its unit, this project, ratio, lowest and highest turn's ratio
ROW = re.compile(r"^(\w+) +(\w+) +([\d,]+) (\w+/s) +([\d,]+) \w+/s +([\d.]+)  ([\d.]+)-([\d.]+)$")
CEILING = re.compile(r"^(\w+) +input +([\d,]+) (\w+/s)")
HEADER = "workload  setting         plain loop      this project  ratio  range"


def test_bench_prints_both_throughputs_their_ratio_and_the_input_ceiling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = ["--workloads", "project", "--settings", "fp32", "--warmup", "2", "--steps", "8"]
    main(["bench", *options, "--repeats", "2"])
    lines = capsys.readouterr().out.splitlines()
    rows = [match.groups() for line in lines if (match := ROW.match(line))]
    ceilings = [match.groups() for line in lines if (match := CEILING.match(line))]
    # The table alone: no progress bar, no line of Lightning's between its rows.
    assert lines[0].startswith("device: ") and CEILING.match(lines[-1])
    assert lines[1:] == [HEADER, *(line for line in lines if ROW.match(line)), lines[-1]]
    assert [(row[0], row[1], row[3]) for row in rows] == [("project", "fp32", "sample/s")]
    plain, ours, ratio, lowest, highest = (
        float(rows[0][index].replace(",", "")) for index in (2, 4, 5, 6, 7)
    )
    assert plain > 0 and ours > 0
    assert ratio == pytest.approx(ours / plain, rel=0.01)  # the throughputs print rounded
    assert 0 < lowest <= highest  # the turns' own ratios
    # The data path alone must deliver faster than training with it consumes.
    assert float(ceilings[0][1].replace(",", "")) > plain
