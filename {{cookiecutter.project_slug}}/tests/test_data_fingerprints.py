"""The data in every run's provenance: fingerprints of files and folders (cached, or DVC's), shown by
`runs` and `report`, and a resume on changed data refused (records/fingerprints.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Refused, killed_fit, tree
from small_project import write_blobs

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.records import (
    fingerprints,
    folders as runs,
    report,
    table as runs_table,
)
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

PACKAGE = "{{ cookiecutter.package_name }}"
RUNS = Path("runs") / PACKAGE
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
FILE_DATA = ["--data", "small_project.BlobsFile", "--data.path", "blobs.csv"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hash cache of the test's own, where the user's would be (XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def a_folder(root: Path) -> Path:
    (root / "images" / "cats").mkdir(parents=True)
    (root / "images" / "cats" / "1.txt").write_text("meow")
    (root / "images" / "labels.csv").write_text("1,cat\n")
    return root / "images"


def test_the_same_contents_anywhere_have_one_fingerprint_and_any_change_another(
    tmp_path: Path,
) -> None:
    first, second = a_folder(tmp_path / "a"), a_folder(tmp_path / "b")
    made = fingerprints.files(first)
    assert made.value == fingerprints.files(second).value  # a moved project keeps it
    assert made.value.startswith("sha256:") and len(made.value) == len("sha256:") + 64
    assert made.how == f"sha256 of 2 files (10 bytes) in {first}"

    (second / "labels.csv").write_text("1,dog\n")
    assert fingerprints.files(second).value != made.value
    (second / "labels.csv").write_text("1,cat\n")
    (second / "cats" / "1.txt").rename(second / "cats" / "2.txt")  # a renamed file: other data
    assert fingerprints.files(second).value != made.value


def test_a_second_fingerprint_reads_no_unchanged_file(tmp_path: Path, own_cache: Path) -> None:
    folder = a_folder(tmp_path)
    made = fingerprints.files(folder)
    assert (own_cache / PACKAGE / "file-hashes.sqlite3").is_file()
    # Other contents of the same size, with the modification time put back: the cache keys on
    # size, time and inode, as DVC's does, so the file is not read again and nothing changes.
    labels = folder / "labels.csv"
    times = labels.stat()
    labels.write_text("1,dog\n")
    os.utime(labels, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert fingerprints.files(folder).value == made.value
    os.utime(labels, ns=(times.st_atime_ns, times.st_mtime_ns + 1))  # touched: read again
    assert fingerprints.files(folder).value != made.value


def test_without_a_writable_cache_the_fingerprint_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = a_folder(tmp_path)
    cached = fingerprints.files(folder)
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    assert fingerprints.files(folder) == cached


def test_dvc_tracked_data_is_fingerprinted_by_what_dvc_recorded(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    prepared = a_folder(tmp_path / "data")
    lock = tmp_path / "dvc.lock"

    def recorded(md5: str) -> None:
        stage = {"cmd": "python prepare.py", "outs": [{"path": "data/images", "md5": md5}]}
        lock.write_text(json.dumps({"schema": "2.0", "stages": {"prepare": stage}}))

    recorded("0a1b2c.dir")
    made = fingerprints.files(prepared)
    assert made.how == f"the hashes DVC recorded for {prepared} (dvc.lock)"
    (prepared / "labels.csv").write_text("not read: DVC's record stands for it")
    assert fingerprints.files(prepared) == made
    recorded("9f8e7d.dir")
    assert fingerprints.files(prepared).value != made.value

    raw = tmp_path / "raw.csv"  # `dvc add raw.csv` writes raw.csv.dvc beside it
    raw.write_text("x\n")
    (tmp_path / "raw.csv.dvc").write_text("outs:\n- md5: 5d41402a\n  path: raw.csv\n")
    both = fingerprints.files(raw, tmp_path / "data" / "images")
    assert "raw.csv (raw.csv.dvc)" in both.how and "(dvc.lock)" in both.how

    lock.write_text("- not a DVC file\n")
    with pytest.raises(Refusal, match=r"dvc.lock is no DVC file \(no mapping of outs or stages\)"):
        fingerprints.files(prepared)


def test_provenance_data_section_says_where_the_fingerprint_came_from(tmp_path: Path) -> None:
    class Plain:
        pass

    class Versioned:
        data_fingerprint = "census-2026-10 "

    class Broken:
        def data_fingerprint(self) -> str:
            return ""

    assert fingerprints.of_data(Plain()) == {
        "fingerprint": None,
        "how": "none: Plain has no data_fingerprint (infra/records/fingerprints.py says how to add one)",
    }
    assert fingerprints.of_data(Versioned()) == {
        "fingerprint": "census-2026-10",
        "how": "given by Versioned.data_fingerprint",
    }
    with pytest.raises(Refusal, match=r"Broken.data_fingerprint gave '': it must give a non-empty"):
        fingerprints.of_data(Broken())
    with pytest.raises(FileNotFoundError, match="no file or folder"):
        fingerprints.files(tmp_path / "missing")


def test_runs_on_other_data_show_other_fingerprints_in_runs_and_report(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fingerprint_of = {}
    for seed in (0, 1):
        write_blobs(in_tmp_dir / "blobs.csv", seed)
        build(["fit", *FILE_DATA, "--trainer.max_epochs=1", *QUIET])
        fingerprint_of[seed] = fingerprints.files(in_tmp_dir / "blobs.csv").value
    assert fingerprint_of[0] != fingerprint_of[1]
    capsys.readouterr()

    runs_table.main([])
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].index("DATA")
    shown = [line[column : column + 12] for line in lines[1:]]
    assert shown == [fingerprints.short(fingerprint_of[0]), fingerprints.short(fingerprint_of[1])]
    for version, seed in ((0, 0), (1, 1)):
        provenance = json.loads((RUNS / f"version_{version}" / "provenance.json").read_text())
        assert provenance["data"] == {
            "fingerprint": fingerprint_of[seed],
            "how": "sha256 of 1 file ({}) in blobs.csv".format(
                fingerprints.amount((in_tmp_dir / "blobs.csv").stat().st_size)
            ),
        }
        report.main([str(RUNS / f"version_{version}")])
        page = (Path("reports") / PACKAGE / f"version_{version}" / "report.html").read_text()
        assert f"<code>{fingerprint_of[seed]}</code>" in page


def test_a_data_module_without_a_fingerprint_is_recorded_as_having_none(in_tmp_dir: Path) -> None:
    build(["fit", "--trainer.max_epochs=1", *QUIET])  # BlobsData: made in memory, no fingerprint
    provenance = json.loads((RUNS / "version_0" / "provenance.json").read_text())
    assert provenance["data"]["fingerprint"] is None
    assert provenance["data"]["how"].startswith("none: BlobsData has no data_fingerprint")


def test_resume_on_changed_data_is_refused_and_continues_when_asked(
    in_tmp_dir: Path, refused: Refused
) -> None:
    write_blobs(in_tmp_dir / "blobs.csv", 0)
    before = fingerprints.files(in_tmp_dir / "blobs.csv").value
    killed_fit(in_tmp_dir, 1, ["--trainer.max_epochs=2", *FILE_DATA, *QUIET])
    write_blobs(in_tmp_dir / "blobs.csv", 1)
    after = fingerprints.files(in_tmp_dir / "blobs.csv").value
    run = RUNS / "version_0"
    (run / runs.LOCK).unlink()  # the killed process's, which any later command takes over
    kept = tree(run)

    error = refused(["fit", "--resume", "auto", "--trainer.callbacks=[]", *QUIET])
    assert error == (
        f"error: --resume: the data changed since the run started: fingerprint "
        f"{fingerprints.short(before)} then, {fingerprints.short(after)} now ({run}); continue "
        "on the new data with --resume_on_changed_data true, or start a new run without --resume\n"
    )
    assert tree(run) == kept, "a refused resume must leave the run as it was"

    build(["fit", "--resume", "auto", "--resume_on_changed_data", "true", "--trainer.callbacks=[]"])
    continued = json.loads((run / "provenance-resume-1.json").read_text())
    assert continued["data"]["fingerprint"] == after
    assert json.loads((run / "provenance.json").read_text())["data"]["fingerprint"] == before
