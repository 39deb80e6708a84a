"""A run's folder and everything recorded in it, written by that run alone, then read back.

Writing: the folder and its lock (folders, writable), run.json (record, with the recorder
callback), checkpoints written whole and read as data (checkpoints, ckpt_path), what made the run
(provenance, with the data's fingerprints) and its predictions; `fit --resume auto` (resume).
Reading: the metrics per epoch (history), the model and data rebuilt from the records (loading),
the `runs` table (table) and the `report` page (report).

May import: command_line.
"""
