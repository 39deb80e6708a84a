"""Train and evaluate the project's model with PyTorch Lightning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version(__name__.replace("_", "-"))
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
