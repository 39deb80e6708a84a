"""The README's quick start in a freshly bootstrapped Debian 13, as a new user there runs it.

A minimal Debian 13 (trixie) root from Debian's own packages (`debootstrap --variant=minbase` with
python3, python3-venv, git and ca-certificates: Python 3.13, no `python` command, no pip, no pip
configuration), an ordinary user with a fresh HOME, a fresh clone of the template in that home, and
README.md's commands run there one after the other, each timed. A second Python family and a second
Debian release beside the machine's own, on every change (.ci/run runs it).

Needs root (debootstrap, chroot, a private mount namespace) and Debian's mirror. The only thing of
this machine that passes into the root is its CA bundle: this network reaches PyPI through a proxy
that only the machine's bundle trusts (a user's machine trusts PyPI's public CA as it is).

    python3 tests/fresh_debian.py --root /var/tmp/debian13 demo tests
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from clean_machine import ROOT, readme_command, template_files

SUITE = "trixie"
PACKAGES = "python3,python3-venv,git,ca-certificates"
USER_ID = 1000
HOME = Path("/home/user")
CLONE = HOME / "fsdl-template"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ROOT_CA_BUNDLE = Path("/etc/ssl/host-ca-bundle.crt")  # inside the root
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DOCUMENTED_TEST_ACCURACY = 0.95  # what README.md promises for the demo


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (the root comes from the same place)."""
    sources = [*Path("/etc/apt").glob("sources.list.d/*"), Path("/etc/apt/sources.list")]
    for source in sources:
        if source.is_file():
            for uri in re.findall(r"(?:URIs:\s*|^deb\s+)(\S+/debian)\b", source.read_text(), re.M):
                return str(uri)
    return DEFAULT_MIRROR


def bootstrap(root: Path) -> None:
    """Debian 13, minimal, with the user; kept between runs (a fresh clone goes in each time)."""
    if (root / "etc" / "debian_version").is_file() and (root / HOME.relative_to("/")).is_dir():
        return
    shutil.rmtree(root, ignore_errors=True)
    if shutil.which("debootstrap") is None:
        sys.exit("fresh_debian: debootstrap is not installed (apt-get install debootstrap)")
    start = time.monotonic()
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root)]
        + [debian_mirror()],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(["chroot", str(root), "useradd", "--create-home", "--uid", str(USER_ID), "user"])
    print(f"fresh_debian: bootstrapped {SUITE} in {time.monotonic() - start:.0f} s", flush=True)


def place_clone(root: Path) -> None:
    """A fresh clone of the template in the user's home, with the working tree's changes committed
    on top (tracked and untracked files, not ignored; from a clean checkout, as CI's, there are
    none): the template's tests read its git history, as a user's clone has it."""
    clone = root / CLONE.relative_to("/")
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    template_files(clone)
    git = ["git", "-C", str(clone), "-c", "user.name=fresh_debian", "-c", "user.email=ci@localhost"]
    subprocess.run([*git, "add", "--all"], check=True)
    changed = subprocess.run([*git, "diff", "--cached", "--quiet"]).returncode != 0
    if changed:
        subprocess.run([*git, "commit", "--quiet", "-m", "The working tree"], check=True)
    subprocess.run(["chown", "-R", f"{USER_ID}:{USER_ID}", str(clone)], check=True)
    for name in ("resolv.conf", "hosts"):
        shutil.copy(Path("/etc") / name, root / "etc" / name)
    shutil.copy(HOST_CA_BUNDLE, root / ROOT_CA_BUNDLE.relative_to("/"))


def run_as_user(root: Path, command: str) -> tuple[int, str]:
    """`command` in the root, as the ordinary user, in the clone, with nothing of this machine's
    environment; the root's /proc, /dev and /sys mounted in a private namespace of this command."""
    environment = [
        f"HOME={HOME}",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "TERM=dumb",
        f"SSL_CERT_FILE={ROOT_CA_BUNDLE}",
    ]
    inside = " ".join(
        ["chroot", f"--userspec={USER_ID}:{USER_ID}", shlex.quote(str(root)), "env", "-i"]
        + environment
        + ["bash", "-c", shlex.quote(f"cd {CLONE} && {command}")]
    )
    mounts = "; ".join(
        [
            f"mount -t proc proc {shlex.quote(str(root / 'proc'))}",
            f"mount --rbind /dev {shlex.quote(str(root / 'dev'))}",
            f"mount --rbind /sys {shlex.quote(str(root / 'sys'))}",
        ]
    )
    shell = f"mount --make-rprivate / && {mounts} && exec {inside}"
    process = subprocess.Popen(
        ["unshare", "--mount", "sh", "-c", shell],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:  # shown as it comes, and kept for the checks of its outcome
        print(line, end="", flush=True)
        output.append(line)
    return process.wait(), "".join(output)


def demo_problem(output: str) -> str | None:
    """Why the demo's output breaks README's promise (95% test accuracy, a report), if it does."""
    accuracy = re.search(r"test/acc\W+([0-9.]+)", output)
    if accuracy is None or float(accuracy[1]) < DOCUMENTED_TEST_ACCURACY:
        found = accuracy[1] if accuracy else "none printed"
        return f"the demo's test accuracy is {found}, under README's {DOCUMENTED_TEST_ACCURACY}"
    page = "reports/digit_classifier/version_0/report.html"
    if f"Report of runs/digit_classifier/version_0: {page}" not in output:
        return f"the demo wrote no {page}"
    return None


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="where the Debian root is kept")
    parser.add_argument("commands", nargs="+", choices=["demo", "tests"], help="README's commands")
    options = parser.parse_args(arguments)
    bootstrap(options.root)
    place_clone(options.root)
    timings = []
    for kind in options.commands:
        command = readme_command(kind)
        print(f"fresh_debian: {SUITE}, as user: {command}", flush=True)
        start = time.monotonic()
        returncode, output = run_as_user(options.root, command)
        elapsed = time.monotonic() - start
        problem = demo_problem(output) if kind == "demo" and returncode == 0 else None
        if problem:
            print(f"fresh_debian: {problem}", flush=True)
            returncode = 1
        timings.append(f"{kind} {elapsed / 60:.1f} min (exit {returncode})")
        print(f"fresh_debian: {kind} took {elapsed:.0f} s, exit {returncode}", flush=True)
        if returncode != 0:
            break
    print(f"fresh_debian: Debian 13: {'; '.join(timings)}", flush=True)
    return returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
