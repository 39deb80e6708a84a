"""The machine a run starts on, and the environment it runs in.

The machine: what it offers and whether the settings fit it (hardware), the processes a launcher
started (cluster), SLURM's stop signals (preemption), the GPUs of a shared box (shared_gpus), and
`doctor`, which reports all of it. The environment: the locks in requirements/ and where torch's
CPU build comes from (locks, torch_index), and the work of the noxfile's sessions on them: compiling
the locks (lock_compiling), the checks and the plan of a sync (sync_checks, sync_plan), the conda
environment files (environment_files). The noxfile imports these six before anything is installed,
so they import neither torch nor Lightning (tests/test_noxfile.py checks it).

May import: command_line, records.
"""
