"""`python -m {{ cookiecutter.package_name }}`: the same entry point as the console script."""

from {{ cookiecutter.package_name }}.infra.cli import main

if __name__ == "__main__":
    main()
