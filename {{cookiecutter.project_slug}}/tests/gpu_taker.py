"""A process that takes GPUs of the stand-in box and holds them until it is killed.

python gpu_taker.py COUNT wait|stop: prints CUDA_VISIBLE_DEVICES once it holds them, then sleeps.
Its own module, importing only infra.machine.shared_gpus: each process starts in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import sys

from {{ cookiecutter.package_name }}.infra.command_line.errors import reported
from {{ cookiecutter.package_name }}.infra.machine import shared_gpus

if __name__ == "__main__":
    with reported():
        shared_gpus.take(int(sys.argv[1]), sys.argv[2])
    print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
    signal.pause()  # holds the GPUs until killed
