"""Servers the project starts listen on this machine alone: a Streamlit applet run from the project's
folder binds loopback (its `.streamlit/config.toml`), and sends no usage statistics."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "::1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> set[str]:
    """The addresses that listen on `port`, once any does, read from the kernel's socket tables."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the applet stopped"
        found = set()
        for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
            for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    # The kernel prints each 32-bit word of the address in host (little-endian) order.
                    words = bytes.fromhex(address)
                    raw = b"".join(words[i : i + 4][::-1] for i in range(0, len(words), 4))
                    found.add(socket.inet_ntop(family, raw))
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} within {seconds} s")


def test_the_project_config_keeps_streamlit_local_and_quiet() -> None:
    config = tomllib.loads((PROJECT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["browser"]["gatherUsageStats"] is False


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_an_applet_run_from_the_project_listens_on_loopback_only(tmp_path: Path) -> None:
    applet = tmp_path / "applet.py"
    applet.write_text("import streamlit as st\n\nst.write('hello')\n")
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(applet), "--server.port", str(port)]
    process = subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        addresses = listening(port, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert addresses and addresses <= LOOPBACK, addresses
