"""Passwords in URLs: masked wherever a record quotes one, refused in the settings a run saves.

A tracking server's or a database's URL can carry `user:password@`. Settings are saved in every run's
config.yaml and shown by `runs` and `report`, so a password there is refused before anything is
written; the tools read credentials from their own environment variables instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)(?P<user>[^\s/:@]+):[^\s/@]+@")
# Where MLflow, the tracker most often given such a URL, takes its credentials from instead.
CREDENTIAL_VARIABLES = (
    "for MLflow: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN"
)


def masked(text: str) -> str:
    """`text` with the password of every URL that carries one replaced by ***."""
    return CREDENTIALS_IN_URL.sub(r"\g<scheme>\g<user>:***@", text)


def settings_with_passwords(values: Any, key: str = "") -> list[str]:
    """The dotted names of the settings in `values` (mappings, lists, strings) that hold a URL with
    a password."""
    if isinstance(values, str):
        return [key] if CREDENTIALS_IN_URL.search(values) else []
    if isinstance(values, Mapping):
        items = [(f"{key}.{name}" if key else str(name), value) for name, value in values.items()]
    elif isinstance(values, (list, tuple)):
        items = [(f"{key}[{index}]", value) for index, value in enumerate(values)]
    else:
        return []
    return [found for name, value in items for found in settings_with_passwords(value, name)]


def password_problem(settings: Mapping[str, Any]) -> str | None:
    """Why `settings` cannot be saved with a run (a URL in them carries a password), or None."""
    found = settings_with_passwords(settings)
    if not found:
        return None
    return (
        f"{found[0]} holds a URL with a password, which the run's config.yaml would record: give "
        f"the URL without it, and the credentials where its tool reads them ({CREDENTIAL_VARIABLES})"
    )
