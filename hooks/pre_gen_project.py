"""Check every answer before cookiecutter writes anything.

Each bad answer gets one line that names the answer and the fix; the bake then stops with a non-zero
exit and cookiecutter removes the half-made project folder.
"""

from __future__ import annotations

import keyword
import re
import sys

# tojson turns each answer into a valid Python string literal, whatever characters it holds.
ANSWERS = {
    "project_name": {{ cookiecutter.project_name | tojson }},
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "package_name": {{ cookiecutter.package_name | tojson }},
    "description": {{ cookiecutter.description | tojson }},
    "author_name": {{ cookiecutter.author_name | tojson }},
    "author_email": {{ cookiecutter.author_email | tojson }},
    "python_version": {{ cookiecutter.python_version | tojson }},
    "license": {{ cookiecutter.license | tojson }},
    "logger": {{ cookiecutter.logger | tojson }},
    "slurm": {{ cookiecutter.slurm | tojson }},
    "examples": {{ cookiecutter.examples | tojson }},
}

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")  # as cookiecutter.json lists them (a test checks)
LICENSES = ("MIT", "BSD-3-Clause", "Apache-2.0", "none")
# Importing the project must not shadow what it imports: the import names of every locked package,
# derived from the locks by tests/locked_modules.py (a test checks the table is in step with them).
# BEGIN LOCKED MODULES (written by `nox -s import_names`; do not edit)
LOCKED_MODULES = frozenset(
    {
        "IPython",
        "PIL",
        "absl",
        "aiohappyeyeballs",
        "aiohttp",
        "aiosignal",
        "alembic",
        "altair",
        "annotated_doc",
        "annotated_types",
        "anyio",
        "appnope",
        "argcomplete",
        "arrow",
        "ast_serialize",
        "asttokens",
        "attr",
        "attrs",
        "binaryornot",
        "black",
        "blackd",
        "blib2to3",
        "bugbear",
        "build",
        "cachetools",
        "certifi",
        "cffi",
        "cfgv",
        "charset_normalizer",
        "click",
        "cloudpickle",
        "colorlog",
        "comm",
        "contourpy",
        "cookiecutter",
        "coreweave_evaluations",
        "cruft",
        "cryptography",
        "cuda_bindings",
        "cuda_pathfinder",
        "cuda_toolkit",
        "cycler",
        "databricks",
        "dateutil",
        "debugpy",
        "dependency_groups",
        "distlib",
        "distro",
        "docstring_parser",
        "dotenv",
        "example",
        "execnet",
        "executing",
        "fastapi",
        "fastjsonschema",
        "fd7dcdb10166ebd4db98__mypyc",
        "filelock",
        "flake8",
        "flake8_comprehensions",
        "fontTools",
        "frozenlist",
        "fsspec",
        "functorch",
        "git",
        "gitdb",
        "google",
        "grpc",
        "h11",
        "httpcore",
        "httpx",
        "humanize",
        "identify",
        "idna",
        "importlib_metadata",
        "iniconfig",
        "ipykernel",
        "ipykernel_launcher",
        "ipython_pygments_lexers",
        "isympy",
        "itsdangerous",
        "jedi",
        "jinja2",
        "joblib",
        "jsonargparse",
        "jsonschema",
        "jsonschema_specifications",
        "jupyter",
        "jupyter_client",
        "jupyter_core",
        "kiwisolver",
        "librt",
        "lightning",
        "lightning_fabric",
        "lightning_utilities",
        "mako",
        "markdown",
        "markdown_it",
        "markupsafe",
        "matplotlib",
        "matplotlib_inline",
        "mccabe",
        "mdurl",
        "mlflow",
        "mpl_toolkits",
        "mpmath",
        "multidict",
        "multipart",
        "mypy",
        "mypy_extensions",
        "mypyc",
        "narwhals",
        "nbclient",
        "nbformat",
        "nbstripout",
        "nest_asyncio2",
        "networkx",
        "nodeenv",
        "nox",
        "numpy",
        "nvidia_cublas",
        "nvidia_cuda_cupti",
        "nvidia_cuda_nvrtc",
        "nvidia_cuda_runtime",
        "nvidia_cudnn_cu13",
        "nvidia_cufft",
        "nvidia_cufile",
        "nvidia_curand",
        "nvidia_cusolver",
        "nvidia_cusparse",
        "nvidia_cusparselt_cu13",
        "nvidia_nccl_cu13",
        "nvidia_nvjitlink",
        "nvidia_nvshmem_cu13",
        "nvidia_nvtx",
        "opentelemetry",
        "optuna",
        "packaging",
        "pandas",
        "parso",
        "pathspec",
        "pexpect",
        "pip",
        "piptools",
        "platformdirs",
        "pluggy",
        "pre_commit",
        "pre_commit_hooks",
        "prompt_toolkit",
        "propcache",
        "psutil",
        "psycopg",
        "psycopg_binary",
        "ptyprocess",
        "pure_eval",
        "py",
        "pyarrow",
        "pyasn1",
        "pyasn1_modules",
        "pycodestyle",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pydeck",
        "pyflakes",
        "pygments",
        "pylab",
        "pynvml",
        "pyparsing",
        "pyproject_hooks",
        "pytest",
        "python_discovery",
        "python_multipart",
        "pytokens",
        "pytorch_lightning",
        "referencing",
        "requests",
        "rich",
        "rpds",
        "ruamel",
        "scipy",
        "setuptools",
        "shellingham",
        "sklearn",
        "slugify",
        "smmap",
        "sniffio",
        "sqlalchemy",
        "sqlparse",
        "stack_data",
        "starlette",
        "streamlit",
        "sympy",
        "tensorboard",
        "tensorboard_data_server",
        "text_unidecode",
        "threadpoolctl",
        "torch",
        "torchgen",
        "torchmetrics",
        "tornado",
        "tqdm",
        "traitlets",
        "triton",
        "typer",
        "typeshed_client",
        "typing_extensions",
        "typing_inspection",
        "tzdata",
        "urllib3",
        "uv",
        "uvicorn",
        "virtualenv",
        "wandb",
        "watchdog",
        "wcwidth",
        "websockets",
        "werkzeug",
        "wheel",
        "xdist",
        "xxhash",
        "yaml",
        "yarl",
        "zipp",
        "zmq",
    }
)
# END LOCKED MODULES
# Nor the folders that pytest and the layout know by name.
LAYOUT_NAMES = frozenset({"tests", "test", "src"})
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Longer names push generated lines past the 100 columns that black and flake8 enforce.
MAX_SLUG, MAX_PACKAGE = 40, 30
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def problems(answers: dict[str, str]) -> list[str]:
    """Return one message per bad answer, each naming the answer and how to fix it."""
    found = []
    for key in ("project_name", "description", "author_name"):
        value = answers[key]
        if not value.strip():
            found.append(f"{key} is empty: give a non-empty {key.replace('_', ' ')}.")
        elif any(ch in value for ch in "\n\r\t") or not value.isprintable():
            found.append(f"{key} {value!r} holds control characters: use one line of plain text.")

    if found and found[0].startswith("project_name"):
        # The slug and package name derive from the project name: fix that first.
        return found + other_problems(answers)
    return found + name_problems(answers) + other_problems(answers)


def name_problems(answers: dict[str, str]) -> list[str]:
    """Problems of the distribution and package names."""
    found = []
    slug = answers["project_slug"]
    if not SLUG.fullmatch(slug):
        found.append(
            f"project_slug {slug!r} is not a valid distribution name: use lowercase letters, digits "
            "and single dashes, starting with a letter (for example 'digit-classifier')."
        )
        return found  # the package name derives from the slug: fix that first
    if len(slug) > MAX_SLUG:
        found.append(
            f"project_slug {slug!r} is {len(slug)} characters long: use at most {MAX_SLUG} "
            "(a shorter project name, or set project_slug and package_name yourself)."
        )
        return found

    package = answers["package_name"]
    if not (PACKAGE.fullmatch(package) and package.isidentifier()):
        found.append(
            f"package_name {package!r} is not a valid import name: use lowercase letters, digits "
            "and underscores, starting with a letter (for example 'digit_classifier')."
        )
    elif len(package) > MAX_PACKAGE:
        found.append(
            f"package_name {package!r} is {len(package)} characters long: use at most "
            f"{MAX_PACKAGE}, for example {package[:MAX_PACKAGE].rstrip('_')!r}."
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name {package!r} is a Python keyword: choose another name.")
    elif package in sys.stdlib_module_names:
        found.append(
            f"package_name {package!r} shadows the standard library module {package!r}: "
            f"choose another name, for example '{package}_project'."
        )
    elif package in LOCKED_MODULES or package in LAYOUT_NAMES:
        found.append(
            f"package_name {package!r} shadows the module {package!r} the project depends on: "
            f"choose another name, for example '{package}_project'."
        )

    return found


def other_problems(answers: dict[str, str]) -> list[str]:
    """Problems of the email and the choice answers."""
    found = []
    email = answers["author_email"]
    if not EMAIL.fullmatch(email):
        found.append(f"author_email {email!r} is not an email address: use the form name@example.com.")

    python = answers["python_version"]
    if python not in SUPPORTED_PYTHONS:
        found.append(
            f"python_version {python!r} is not supported: choose one of {', '.join(SUPPORTED_PYTHONS)}."
        )
    if answers["license"] not in LICENSES:
        found.append(f"license {answers['license']!r} is unknown: choose one of {', '.join(LICENSES)}.")
    if answers["slurm"] not in ("yes", "no"):
        found.append(f"slurm {answers['slurm']!r} is neither yes nor no: choose one of them.")
    if answers["examples"] not in ("yes", "no"):
        found.append(
            f"examples {answers['examples']!r} is neither yes nor no: choose one of them."
        )
    return found


def main() -> int:
    found = problems(ANSWERS)
    for message in found:
        print(f"error: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
