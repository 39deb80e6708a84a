"""The training loop around your model: LightningCLI with the project's settings (lightning_cli);
wrong configuration refused in one line before anything is written (refusals, and classes for the
model and data classes named); the callbacks every fit runs with (progress, interrupt,
random_states, logging_interval, compiling); quiet output (quiet); the fixes to Lightning, each
guarded (lightning_fixes); in-memory batches without per-sample collation (batched_loading); and
the loggers that need code of their own (wandb_logger, mlflow_logger: the one the bake's logger
answer chose, if any).

May import: command_line, records, machine.
"""
