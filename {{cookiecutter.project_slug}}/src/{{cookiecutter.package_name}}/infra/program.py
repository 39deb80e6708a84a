"""The command line's name and Lightning's subcommands, apart from Lightning: the commands that
only read files (`runs`, `presets`, `--help`) answer without importing torch."""

PROG = "python -m {{ cookiecutter.package_name }}"
SUBCOMMANDS = ("fit", "validate", "test", "predict")
