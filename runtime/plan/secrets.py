"""Where a plan may hold secrets, how they must be given, and keeping them out of plan errors.

Secrets (the DHIS2 password, token, OAuth2 client secret, a database password) are environment
references, never values. The compiler refuses a spec that writes one (E305); the loader refuses
a plan JSON that holds one, naming the JSON path and never the value, and scrubs every string of
the auth block from its other problem lines (a schema message quotes the offending object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

SECRET_FIELDS = ("password", "token", "secret")
ALERT_SECRETS = ("webhook", "smtp_password")  # a webhook URL carries its own secret token
MASK = "***"
# libpq keyword/value strings (password=value, password='quoted value') and URI parameters
_KEYWORD_PASSWORD = re.compile(r"(?i)(?:^|[\s?&])password\s*=")


def literal_database_password(database: str) -> bool:
    """Whether a database setting carries a password itself: a URL's ``user:password@`` or
    ``?password=``, or a libpq keyword string's ``password=``."""
    if _KEYWORD_PASSWORD.search(database):
        return True
    if "://" not in database:
        return False
    try:
        return bool(urlsplit(database).password)
    except ValueError:
        return "@" in database  # unparsable: assume the worst, it is never printed anyway


def secret_problems(doc: Any) -> list[str]:
    """Secrets a plan document gives literally, one line per JSON path (values never shown)."""
    problems = []
    for where, auth in _auths(doc):
        for key in SECRET_FIELDS:
            if key in auth and not _is_env_reference(auth[key]):
                problems.append(
                    f"{where}.auth.{key}: a secret must be an environment reference "
                    '{"env": "NAME"}, never a value written in the plan'
                )
    alerts = _alerts(doc)
    for key in ALERT_SECRETS:
        if key in alerts and not _is_env_reference(alerts[key]):
            problems.append(
                f'$.alerts.{key}: a secret must be an environment reference {{"env": "NAME"}}'
                ", never a value written in the plan"
            )
    database = _database_value(doc)
    if database is not None and literal_database_password(database):
        problems.append(
            "$.source.database: the database URL contains a literal password; give the whole "
            'URL as an environment reference {"env": "NAME"}'
        )
    return problems


def scrub_plan_secrets(text: str, doc: Any) -> str:
    """``text`` without any string of the plan's auth block or a literal database setting."""
    for value in sorted(_secret_strings(doc), key=len, reverse=True):
        for form in (value, repr(value)[1:-1]):
            if len(form) >= 3:
                text = text.replace(form, MASK)
    return text


def _auths(doc: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The auth block of each target, with its JSON path: ``target``, or each of ``targets``."""
    if not isinstance(doc, dict):
        return
    found: list[tuple[str, Any]] = [("$.target", doc.get("target"))]
    targets = doc.get("targets")
    if isinstance(targets, list):
        found += [(f"$.targets[{i}]", t) for i, t in enumerate(targets)]
    for where, target in found:
        auth = target.get("auth") if isinstance(target, dict) else None
        if isinstance(auth, dict):
            yield where, auth


def _alerts(doc: Any) -> dict[str, Any]:
    alerts = doc.get("alerts") if isinstance(doc, dict) else None
    return alerts if isinstance(alerts, dict) else {}


def _database_value(doc: Any) -> str | None:
    source = doc.get("source") if isinstance(doc, dict) else None
    database = source.get("database") if isinstance(source, dict) else None
    value = database.get("value") if isinstance(database, dict) else None
    return value if isinstance(value, str) else None


def _is_env_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str)


def _secret_strings(doc: Any) -> Iterator[str]:
    for _, auth in _auths(doc):
        yield from _strings({k: v for k, v in auth.items() if k != "kind"})
    alerts = _alerts(doc)
    yield from _strings({k: v for k, v in alerts.items() if k in ALERT_SECRETS})
    database = _database_value(doc)
    if database is not None and literal_database_password(database):
        yield database


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key != "env":  # a variable's name is not a secret, and plan errors may name it
                yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
