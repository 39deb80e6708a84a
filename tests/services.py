"""Real services for the template's tests: a one-node SLURM cluster and a PostgreSQL server.

Each runs as its own daemons on loopback ports chosen at start, keeps its state in a scratch folder,
and is stopped by process id. Where the packages are missing the tests skip, saying how to install
them, unless REQUIRE_SERVICES=1 (as .ci/run sets, after installing them) turns that into a failure.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SLURM_PACKAGES = "slurmctld slurmd slurm-client"
SLURM_COMMANDS = ("slurmctld", "slurmd", "sbatch", "scontrol", "scancel", "sinfo")
FINISHED_JOB_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


def missing(what: str, install: str) -> None:
    """Skip the test (or fail it, where the services are required) because `what` is missing."""
    message = f"{what} is not installed: apt-get install -y --no-install-recommends {install}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    condition: str, check: Callable[[], bool], timeout: float, interval: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{condition} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def stop_process(pid_file: Path, timeout: float = 30) -> None:
    """SIGTERM the process whose id `pid_file` holds, and wait until it is gone."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


@dataclass
class Job:
    job_id: str
    state: str
    restarts: int


class SlurmCluster:
    """slurmctld and slurmd for one node with `cpus` cores; auth/none, so no munge is needed."""

    def __init__(self, folder: Path, cpus: int = 2) -> None:
        self.folder = folder
        self.partition = "test"
        self.config = folder / "slurm.conf"
        for name in ("state", "spool"):
            (folder / name).mkdir(parents=True)
        user = getpass.getuser()
        self.config.write_text(f"""ClusterName=templatetests
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/none
CredType=cred/none
# A requeued job waits cred_expire seconds before it starts again (default 120).
AuthInfo=cred_expire=5
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={folder / "state"}
SlurmdSpoolDir={folder / "spool"}
SlurmctldPidFile={folder / "slurmctld.pid"}
SlurmdPidFile={folder / "slurmd.pid"}
SlurmctldLogFile={folder / "slurmctld.log"}
SlurmdLogFile={folder / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName={self.partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        self.environment = {**os.environ, "SLURM_CONF": str(self.config)}

    def run(self, *command: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            command, env=self.environment, cwd=cwd, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        self.run("slurmctld", "-f", str(self.config))
        self.run("slurmd", "-f", str(self.config), "-N", "localhost")
        wait_until("node idle", lambda: "idle" in self.run("sinfo", "-h", "-o", "%T"), 60)

    def stop(self) -> None:
        """Cancel what still runs, then stop slurmd and slurmctld by their process ids."""
        try:
            self.run("scancel", "--full", f"--partition={self.partition}")
            wait_until("jobs ended", lambda: not self.run("squeue", "-h").strip(), 60)
        except (RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            pass  # stop the daemons all the same
        stop_process(self.folder / "slurmd.pid")
        stop_process(self.folder / "slurmctld.pid")

    def submit(self, script: Path, sbatch_flags: list[str], args: list[str], cwd: Path) -> str:
        """sbatch `script` with `args` for it; returns the job id."""
        output = self.run(
            "sbatch", "--parsable", *sbatch_flags, str(script), *args, cwd=cwd
        ).strip()
        return output.split(";")[0]

    def job(self, job_id: str) -> Job:
        details = self.run("scontrol", "show", "job", job_id)
        state = re.search(r"JobState=(\w+)", details)
        restarts = re.search(r"Restarts=(\d+)", details)
        assert state and restarts, details
        return Job(job_id, state.group(1), int(restarts.group(1)))

    def wait(self, job_id: str, timeout: float = 300) -> Job:
        """Poll until the job has finished (sbatch --wait backs off to tens of seconds)."""
        wait_until(
            f"job {job_id} finishing",
            lambda: self.job(job_id).state in FINISHED_JOB_STATES,
            timeout,
        )
        return self.job(job_id)


def start_slurm(folder: Path) -> SlurmCluster:
    if any(shutil.which(command) is None for command in SLURM_COMMANDS):
        missing("SLURM", SLURM_PACKAGES)
    cluster = SlurmCluster(folder)
    cluster.start()
    return cluster


class PostgresServer:
    """A throwaway PostgreSQL cluster in a scratch folder, on a loopback port, trusting local users.

    PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user that the
    Debian package creates, in a folder that user owns.
    """

    def __init__(self, bin_dir: Path, password: str | None = None) -> None:
        self.bin_dir = bin_dir
        self.password = password  # None: local users are trusted
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        # pytest's temp folders are private to this user; the postgres user must enter this one.
        self.folder = Path(tempfile.mkdtemp(prefix="template-tests-postgres-", dir="/tmp"))
        self.data = self.folder / "data"
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        # runuser is in /usr/sbin, often not on a user's PATH even as root.
        self.runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if self.as_root and self.runuser is None:
            missing("runuser (to run PostgreSQL as its own user)", "util-linux")

    def _run(self, *command: str) -> None:
        prefix = [str(self.runuser), "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")

    @property
    def url(self) -> str:
        """The database's URL, without the password."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url_with_password(self) -> str:
        return self.url.replace("postgres@", f"postgres:{self.password}@", 1)

    def start(self) -> None:
        pg_ctl, initdb = str(self.bin_dir / "pg_ctl"), str(self.bin_dir / "initdb")
        authentication = ["--auth=trust"]
        if self.password is not None:
            password_file = self.folder / "password"
            password_file.write_text(self.password)
            if self.as_root:
                shutil.chown(password_file, "postgres", "postgres")
            authentication = ["--auth=scram-sha-256", f"--pwfile={password_file}"]
        self._run(initdb, "-D", str(self.data), "-U", "postgres", *authentication, "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Fast shutdown (disconnects clients), then remove the cluster's folder."""
        try:
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            stop_process(self.data / "postmaster.pid")  # its first line is the server's id
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres(password: str | None = None) -> PostgresServer:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian's layout
    found = shutil.which("pg_ctl")
    pg_ctl = Path(candidates[-1]) if candidates else Path(found) if found else None
    if pg_ctl is None:
        missing("PostgreSQL", "postgresql")
    assert pg_ctl is not None
    server = PostgresServer(pg_ctl.parent, password)
    server.start()
    return server


def run_environment(project: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a baked project's commands: this Python first, the project importable."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "PYTHONPATH": str(project / "src"), **(extra or {})}
