"""Tools beside training: `bench` (this project's training loop against a plain PyTorch loop),
`sweep` (Optuna searches over the arguments of `fit`) and the bundled examples' own list of files
(examples: what `nox -s drop_examples` removes).

May import: command_line, records, machine, training.
"""
