"""The machine a run starts on: what it offers and whether the settings fit it (hardware), the
processes a launcher started (cluster), SLURM's stop signals (preemption), the GPUs of a shared box
(shared_gpus), the locks in requirements/ and where torch's CPU build comes from (locks,
torch_index: the noxfile reads these two before anything is installed, so they import neither
torch nor Lightning), and `doctor`, which reports all of it.

May import: command_line, records.
"""
