"""A machine like a user's, for the template's tests and for .ci/run.

Our machines are set up in ways a user's is not: pip reads a configuration file and PIP_FIND_LINKS
that point at a local folder holding torch's CPU wheel, and several Pythons sit on PATH. Here a
command runs as on a user's machine instead:

- no pip configuration (PIP_CONFIG_FILE=/dev/null, no PIP_* variables but the CA bundle that this
  machine's network needs) and a fresh HOME;
- one Python alone on PATH: the other interpreters of the system folders are hidden in a private
  mount namespace (`unshare --mount`, root only), where /dev/null covers each;
- torch's CPU index answered by a mirror on loopback (a PEP 503 page listing the CPU wheels at hand,
  with their sha256), reached through TORCH_CPU_INDEX_URL as a corporate mirror would be. Where
  TORCH_CPU_INDEX_URL is already set (a harness around this one), that index is used.

    python3 tests/clean_machine.py --python /usr/bin/python3 --readme tests  # README's tests
    python3 tests/clean_machine.py --python /usr/bin/python3 --readme tests -- --slow  # as CI
    python3 tests/clean_machine.py --python python3.12 -- CMD ARGS...        # any command
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The folders of a user's PATH besides their Python's.
SYSTEM_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
# Variables that pass through to the command: CI's own, the services flag of .ci/run, and where the
# other Pythons are. And this machine's TLS trust anchors: its traffic to PyPI passes a proxy whose
# CA only the system bundle holds (a user's machine trusts PyPI's public CA as it is); certifi,
# which pip and uv bring, would refuse it.
PASSED = ("CI", "REQUIRE_SERVICES", "UV_CACHE_DIR", "TMPDIR", "PYENV_ROOT", "UV_PYTHON_DOWNLOADS")
TRUST = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT")
PYTHON_NAME = re.compile(r"python(\d(\.\d+)?)?")
# Where pyenv keeps the interpreters the tests try (read before the tests move HOME).
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def wheel_folder() -> Path | None:
    """The local folder of wheels that pip is configured with here (torch's CPU build), if any."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.find-links"],
        capture_output=True,
        text=True,
    )
    configured = result.stdout if result.returncode == 0 else os.environ.get("PIP_FIND_LINKS", "")
    folders = [Path(entry) for entry in configured.split() if Path(entry).is_dir()]
    return folders[0] if folders else None


def mirror_pages(wheels: Path, root: Path) -> int:
    """Write a PEP 503 index of the torch CPU wheels in `wheels` under `root`/whl/cpu; count."""
    project = root / "whl" / "cpu" / "torch"
    project.mkdir(parents=True)
    links = []
    for wheel in sorted(wheels.glob("torch-*+cpu-*.whl")):
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        (project / wheel.name).symlink_to(wheel)
        quoted = wheel.name.replace("+", "%2B")
        links.append(f'<a href="{quoted}#sha256={digest}">{html.escape(wheel.name)}</a><br>')
    (project / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n")
    (project.parent / "index.html").write_text('<a href="torch/">torch</a>\n')
    return len(links)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # the stdlib's name
        pass  # one line per request would bury the output of the command under test


@contextlib.contextmanager
def served_index(wheels: Path) -> Iterator[str | None]:
    """The URL of a loopback PEP 503 index of the torch CPU wheels in `wheels` (None if none)."""
    with tempfile.TemporaryDirectory(prefix="torch-cpu-index-") as folder:
        if mirror_pages(wheels, Path(folder)) == 0:
            yield None
            return
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=folder))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
        finally:
            server.shutdown()
            server.server_close()


@contextlib.contextmanager
def torch_cpu_index() -> Iterator[str | None]:
    """The URL of a torch CPU index for the command: the outer harness's, a loopback mirror of the
    wheels at hand, or None (torch's real index, as on a connected user's machine)."""
    outer = os.environ.get("TORCH_CPU_INDEX_URL")
    wheels = wheel_folder()
    if outer or wheels is None:
        yield outer
        return
    with served_index(wheels) as url:
        yield url


def clean_environment(
    python: Path, home: Path, index_url: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables of a user's shell: `python`'s folder first on PATH, nothing of ours."""
    environment = {key: os.environ[key] for key in (*PASSED, *TRUST) if key in os.environ}
    environment.update(
        {
            "HOME": str(home),
            "PATH": os.pathsep.join([str(python.parent), *SYSTEM_PATH]),
            "PIP_CONFIG_FILE": os.devnull,
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }
    )
    if index_url:
        environment["TORCH_CPU_INDEX_URL"] = index_url
    environment.update(extra or {})
    return environment


def other_pythons(python: Path) -> list[Path]:
    """The interpreters in the system folders that are not `python` (resolved, each once)."""
    keep = python.resolve()
    found: set[Path] = set()
    for folder in SYSTEM_PATH:
        with contextlib.suppress(OSError):
            for entry in Path(folder).iterdir():
                if PYTHON_NAME.fullmatch(entry.name) and entry.exists():
                    real = entry.resolve()
                    if real != keep and os.access(real, os.X_OK):
                        found.add(real)
    return sorted(found)


def alone(command: Sequence[str], python: Path) -> list[str]:
    """`command`, run where `python` is the only interpreter in the system folders."""
    hidden = other_pythons(python)
    if not hidden:
        return list(command)
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        raise RuntimeError(
            f"cannot hide {', '.join(map(str, hidden))}: hiding needs unshare and root"
        )
    covers = "; ".join(f"mount --bind /dev/null {shlex.quote(str(path))}" for path in hidden)
    return [unshare, "--mount", "sh", "-c", f'{covers} && exec "$@"', "sh", *command]


def find_python(version: str) -> Path | None:
    """A real interpreter of `version` (never a pyenv shim): pyenv's, else the system's."""
    candidates = sorted(PYENV_ROOT.glob(f"versions/{version}.*/bin/python{version}"))
    candidates += [Path(f"/usr/bin/python{version}")]
    return next((path for path in candidates if path.is_file()), None)


def template_files(destination: Path) -> Path:
    """Copy the template's files as a fresh clone has them (tracked and untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def readme_command(kind: str) -> str:
    """The quick-start command of README.md that runs `nox -s demo` or `nox -s lint tests`."""
    session = {"demo": "nox -s demo", "tests": "nox -s lint tests"}[kind]
    text = (ROOT / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    (line,) = (
        line for line in quick_start.splitlines() if line.split("#")[0].strip().endswith(session)
    )
    return line.split(" # ")[0].strip()


def run_clean(
    command: Sequence[str],
    python: Path,
    cwd: Path,
    home: Path,
    index_url: str | None,
    extra: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd` as on a user's machine; stdout and stderr together in `.stdout`."""
    return subprocess.run(
        alone(command, python),
        cwd=cwd,
        env=clean_environment(python, home, index_url, extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def main(arguments: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the Python alone on PATH")
    parser.add_argument("--readme", choices=["demo", "tests"], help="run README.md's command")
    parser.add_argument("command", nargs="*", help="the command (with --readme: its arguments)")
    options = parser.parse_args(arguments)
    found = shutil.which(options.python)
    if found is None:
        parser.error(f"no Python {options.python!r} here")
    python = Path(found)
    command = options.command
    if options.readme:  # arguments after -- go to the README's command, after its own --
        extra = f" -- {shlex.join(options.command)}" if options.command else ""
        command = ["bash", "-c", readme_command(options.readme) + extra]
    if not command:
        parser.error("give --readme KIND or a command after --")
    with tempfile.TemporaryDirectory(prefix="clean-home-") as home, torch_cpu_index() as index:
        print(f"clean machine: {python} alone on PATH, HOME={home}, CPU index {index}", flush=True)
        print(f"clean machine: {' '.join(command)}", flush=True)
        result = subprocess.run(
            alone(command, python),
            cwd=Path.cwd(),
            env=clean_environment(python, Path(home), index),
        )
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
