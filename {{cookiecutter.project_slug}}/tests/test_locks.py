"""The locks agree with their .in files, and each way they can fall out of step is named with its fix."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.machine import locks, torch_index

PROJECT = Path(__file__).resolve().parents[1]
REQUIREMENTS = PROJECT / "requirements"
PYTHON = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
RELOCK = "run `nox -s lock` to recompile it"


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    """A copy of requirements/ to break."""
    return Path(shutil.copytree(REQUIREMENTS, tmp_path / "requirements"))


def replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_locks_are_in_step_with_their_in_files() -> None:
    assert locks.out_of_step(REQUIREMENTS, PYTHON) == []


def test_every_lock_pins_every_package_with_a_hash() -> None:
    for lock in REQUIREMENTS.glob("*.txt"):
        pins = locks.read_lock(lock)
        assert pins, f"{lock} pins nothing"
        assert all(pin.hashes > 0 for pin in pins.values()), lock


@pytest.mark.parametrize("target", locks.TARGETS)
def test_every_target_locks_the_build_backend_that_pyproject_names(target: str) -> None:
    """The editable install builds without isolation, with this pin: nothing unpinned is fetched."""
    build_requires = tomllib.loads((PROJECT / "pyproject.toml").read_text())["build-system"]
    pinned = {
        name: pin
        for lock in locks.locks_for(REQUIREMENTS, target)
        for name, pin in locks.read_lock(lock).items()
    }
    for requirement in map(Requirement, build_requires["requires"]):
        pin = pinned.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not locked for {target}"
        assert pin.hashes > 0 and requirement.specifier.contains(pin.version), pin


def test_a_requirement_added_to_an_in_file_is_reported(requirements: Path) -> None:
    with (requirements / "prod.in").open("a") as source:
        source.write("rich\n")
    problems = locks.out_of_step(requirements, PYTHON)
    assert (
        f"{requirements / 'prod.txt'} does not pin rich, which prod.in asks for: {RELOCK}"
        in problems
    )


def test_a_requirement_removed_from_an_in_file_is_reported(requirements: Path) -> None:
    replace_line(requirements / "prod.in", "scikit-learn\n", "")
    problems = locks.out_of_step(requirements, PYTHON)
    expected = (
        f"{requirements / 'prod.txt'} pins scikit-learn for prod.in, which no longer asks for it"
    )
    assert f"{expected}: {RELOCK}" in problems


def test_a_pin_the_in_file_no_longer_allows_is_reported(requirements: Path) -> None:
    replace_line(requirements / "prod.in", "lightning==2.6.6", "lightning>2.6.6")
    problems = locks.out_of_step(requirements, PYTHON)
    expected = (
        f"{requirements / 'prod.txt'} pins lightning==2.6.6, but prod.in asks for lightning>2.6.6"
    )
    assert f"{expected}: {RELOCK}" in problems


def test_a_dev_pin_that_breaks_the_prod_constraint_is_reported(requirements: Path) -> None:
    locked = locks.read_lock(requirements / "prod.txt")["packaging"].version
    replace_line(requirements / "dev.txt", f"packaging=={locked} ", "packaging==1.0 ")
    problems = locks.out_of_step(requirements, PYTHON)
    expected = (
        f"{requirements / 'dev.txt'} pins packaging==1.0 but {requirements / 'prod.txt'} pins "
        f"packaging=={locked}"
    )
    assert f"{expected}: {RELOCK}" in problems


def test_a_pin_without_a_hash_is_reported(requirements: Path) -> None:
    with (requirements / "dev.txt").open("a") as lock:
        lock.write("six==1.17.0\n    # via -r dev.in\n")
    (requirements / "dev.in").write_text((requirements / "dev.in").read_text() + "six\n")
    problems = locks.out_of_step(requirements, PYTHON)
    assert f"{requirements / 'dev.txt'} pins six without a hash: {RELOCK}" in problems


def test_a_cpu_lock_holding_the_cuda_build_is_reported(requirements: Path) -> None:
    shutil.copy(requirements / "prod.txt", requirements / "prod-cpu.txt")
    problems = locks.out_of_step(requirements, PYTHON)
    cpu_lock = requirements / "prod-cpu.txt"
    assert any(
        problem.startswith(f"{cpu_lock} holds CUDA wheels (") and "nvidia-cuda-runtime" in problem
        for problem in problems
    )
    assert any(problem.startswith(f"{cpu_lock} pins torch==") for problem in problems)


def test_a_cpu_lock_marked_as_a_fallback_must_pin_exactly_what_prod_pins(
    requirements: Path,
) -> None:
    cpu_lock = requirements / "prod-cpu.txt"
    prod = (requirements / "prod.txt").read_text()
    cpu_lock.write_text(f"{locks.CPU_FALLBACK_MARK} torch's CPU build was out of reach\n{prod}")
    assert locks.out_of_step(requirements, PYTHON) == []
    pin = next(line for line in prod.splitlines() if line.startswith("lightning=="))
    replace_line(cpu_lock, pin, "lightning==0.0.1 \\")
    assert (
        f"{cpu_lock} (a fallback) differs from prod.txt in lightning: {RELOCK}"
        in locks.out_of_step(requirements, PYTHON)
    )


def test_a_macos_pin_that_differs_from_the_linux_locks_is_reported(requirements: Path) -> None:
    macos_lock = requirements / locks.MACOS_LOCK
    pin = next(line for line in macos_lock.read_text().splitlines() if line.startswith("pytest=="))
    replace_line(macos_lock, pin, "pytest==0.0.1 \\")
    problems = locks.out_of_step(requirements, PYTHON)
    assert any(
        problem.startswith(f"{macos_lock} pins pytest==0.0.1 but {requirements / 'dev.txt'} pins")
        for problem in problems
    ), problems


def test_the_macos_target_installs_its_one_lock(requirements: Path) -> None:
    assert locks.locks_for(requirements, "macos") == [requirements / locks.MACOS_LOCK]


def test_a_missing_lock_of_a_feature_names_the_file_and_the_fix(requirements: Path) -> None:
    (requirements / "profiler.in").write_text("-c prod.txt\nrich\n")
    with pytest.raises(Refusal) as error:
        locks.locks_for(requirements, "gpu")
    assert str(error.value) == (
        f"missing lock {requirements / 'profiler.txt'} (needed for the gpu target): "
        "run `nox -s lock` to compile it"
    )


def test_installed_packages_are_compared_with_their_pins(tmp_path: Path) -> None:
    lock = tmp_path / "dev.txt"
    lock.write_text(
        "pytest==0.0.1 \\\n    --hash=sha256:00\n"
        "surely-not-installed-package==1.0 \\\n    --hash=sha256:00\n"
    )
    checked, differences = locks.installed_differences([lock])
    assert checked == 2
    assert [(d.name, d.locked, d.lock) for d in differences] == [
        ("pytest", "0.0.1", "dev.txt"),
        ("surely-not-installed-package", "1.0", "dev.txt"),
    ]
    assert differences[0].installed == pytest.__version__
    assert differences[1].installed is None


@pytest.mark.parametrize(
    ("name", "cuda_only"),
    [
        ("nvidia-cublas", True),
        ("NVIDIA_cuda_runtime", True),
        ("cuda-bindings", True),
        ("triton", True),
        ("nvidia-ml-py", False),  # NVML's bindings, locked for every target
        ("nvidia_ml.py", False),
        ("torch", False),
    ],
)
def test_only_the_wheels_of_torchs_cuda_build_are_cuda_only(name: str, cuda_only: bool) -> None:
    assert torch_index.is_cuda_only(name) is cuda_only


def test_the_install_notice_counts_the_cuda_wheels_and_not_nvmls_bindings(tmp_path: Path) -> None:
    gpu, cpu = tmp_path / "prod.txt", tmp_path / "prod-cpu.txt"
    pins = ["torch==2.8.0", "nvidia-cublas==13.0.0", "Triton==3.4.0", "nvidia-ml-py==13.580.65"]
    gpu.write_text("".join(f"{pin} \\\n    --hash=sha256:0\n" for pin in pins))
    cpu.write_text("torch==2.8.0+cpu \\\n    --hash=sha256:0\nnvidia-ml-py==13.580.65\n")
    assert torch_index.install_notice([gpu]).startswith(
        "installing 4 locked packages, hash-checked; torch is the largest (with 2 CUDA packages, "
    )
    assert "(the CPU build, about 190 MB)" in torch_index.install_notice([cpu])
