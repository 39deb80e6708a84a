"""The template's infrastructure: the command line, checks, presets, sweeps and run records.

Nothing here imports your modules (data.py, model.py, module.py or any you add): the model and data
classes are named in config.yaml (or with `--model CLASS --data CLASS`) and imported by LightningCLI.
So this folder can follow later releases of the template (`cruft update`) without touching your code;
tests/test_layout.py keeps it that way.
"""
