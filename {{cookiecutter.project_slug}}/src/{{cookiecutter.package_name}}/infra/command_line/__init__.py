"""What every command shares: the one error type a command refuses with and the one place that
reports it (errors), the command line's name (program), the parser of the project's own commands
(parser), the settings files a user writes and how they are read (config_files, defaults with
defaults.yaml, presets with presets/), and passwords kept out of saved settings (credentials).

May import: nothing else in infra.
"""
