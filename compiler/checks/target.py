"""Checks of the ``dhis2 { … }`` block: URL, auth and secrets, data set, schemes, period, zone."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

from dhispatch.compiler.checks.common import check_choice
from dhispatch.compiler.checks.common import check_env
from dhispatch.compiler.checks.common import check_uid
from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import ID_SCHEMES
from dhispatch.compiler.vocabulary import did_you_mean
from dhispatch.compiler.vocabulary import hint_for
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.runtime.plan.catalogue import DEFAULT_KEEP_DAYS
from dhispatch.runtime.plan.catalogue import MAX_KEEP_DAYS
from dhispatch.runtime.plan.catalogue import VANISHED
from dhispatch.runtime.plan.urls import cleartext_host

# The characters RFC 3986 allows in a URI; a % must start an escape of two hex digits.
_URI_CHARS = re.compile(r"([A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
# auth kind -> (argument, is_secret) in the order a positional call would give them.
AUTH_ARGS: dict[str, tuple[tuple[str, bool], ...]] = {
    "basic": (("user", False), ("password", True)),
    "token": (("token", True),),
    "oauth2": (("client", False), ("secret", True), ("user", False), ("password", True)),
}


def check_target(view: SpecView) -> Iterator[Diagnostic]:
    """Every check of the first dhis2 block."""
    target = view.target
    if target is None:
        return
    get = partial(setting, target.settings)
    yield from check_connection(get, get("insecure"))
    yield from _check_period(get("period_format"), get("period_type"))
    yield from _check_round(get("round"))
    yield from _check_timezone(get("timezone"))
    yield from _check_journal(get("journal"))
    yield from _check_keep_payloads(get("keep_payloads"))
    vanish = get("on_vanish")
    if vanish is not None and isinstance(vanish.value, ast.Name):
        yield from check_choice(vanish.value, VANISHED, "E313", "on_vanish policy")


def check_connection(
    get: Callable[[str], ast.Setting | None], insecure: ast.Setting | None
) -> Iterator[Diagnostic]:
    """The settings each target may give for itself: URL, auth, data set, attribute option
    combo, ID schemes, enabled (``insecure`` may come from the dhis2 block)."""
    yield from _check_url(get("url"), insecure)
    auth = get("auth")
    if auth is not None and isinstance(auth.value, ast.Call):
        yield from check_auth(auth.value)
    for name, what in (
        ("data_set", "data set"),
        ("attribute_option_combo", "attribute option combo"),
    ):
        found = get(name)
        if found is not None and isinstance(found.value, ast.Str):
            yield from check_uid(found.value, what)
    for name in ("id_scheme", "org_unit_id_scheme", "category_option_combo_id_scheme"):
        found = get(name)
        if found is not None and isinstance(found.value, ast.Name):
            yield from check_choice(found.value, ID_SCHEMES, "E307", "ID scheme")
    enabled = get("enabled")
    if enabled is not None and isinstance(enabled.value, ast.Name):
        yield from check_choice(enabled.value, ("true", "false"), "E312", "value of enabled")


def _check_url(url: ast.Setting | None, insecure: ast.Setting | None) -> Iterator[Diagnostic]:
    """E301 not an http(s) URL; E302 plain http to a remote host without ``insecure``."""
    if url is None or not isinstance(url.value, ast.Str):
        return
    value = url.value
    try:
        parts = urlsplit(value.value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts, host = None, ""
    valid = _URI_CHARS.fullmatch(value.value) is not None
    if parts is None or parts.scheme not in ("http", "https") or not host or not valid:
        yield Diagnostic(
            "E301",
            f"{value.value!r} is not an http(s) URL",
            value.span,
            hint='e.g. "https://dhis2.example.org" (the server root, without /api; '
            "no spaces, other characters %-escaped)",
        )
        return
    if parts.password:
        yield Diagnostic(
            "E305",
            "the URL contains a literal password; secrets must come from the environment",
            value.span,
            hint="remove the user:password@ part and give credentials with auth",
            mask=True,
        )
    if cleartext_host(value.value, insecure is not None) is not None:
        yield Diagnostic(
            "E302",
            f"plain http to {host} would send credentials unencrypted",
            value.span,
            hint="use https, or add 'insecure' to the dhis2 block if you really must",
        )
    if parts.scheme == "https" and insecure is not None:
        yield Diagnostic(
            "W303",
            "'insecure' has no effect with an https URL",
            insecure.name_span,
            severity="warning",
            hint="remove it",
        )


def check_auth(call: ast.Call) -> Iterator[Diagnostic]:
    """E303 unknown auth kind; E304 bad arguments; E305 a literal secret."""
    kind = call.func.value
    if kind not in AUTH_ARGS:
        yield Diagnostic(
            "E303", f"unknown auth method '{kind}'", call.func.span, hint=hint_for(kind, AUTH_ARGS)
        )
        return
    params = AUTH_ARGS[kind]
    names = [name for name, _ in params]
    given: dict[str, ast.Arg] = {}
    for index, arg in enumerate(call.args):
        if arg.key is None:
            if index >= len(params):
                yield Diagnostic("E304", f"{kind}() takes {len(params)} argument(s)", arg.span)
                continue
            name = params[index][0]
        else:
            name = arg.key.value
            if name not in names:
                yield Diagnostic(
                    "E304",
                    f"{kind}() has no argument '{name}'",
                    arg.key.span,
                    hint=hint_for(name, names),
                )
                continue
        if name in given:
            yield Diagnostic("E304", f"argument '{name}' given twice", arg.span)
            continue
        given[name] = arg
        yield from _check_auth_value(name, dict(params)[name], arg.value)
    missing = [name for name in names if name not in given]
    if missing:
        yield Diagnostic(
            "E304",
            f"{kind}() is missing {', '.join(missing)}",
            call.span,
            hint=f"{kind}({', '.join(_shape(n, dict(params)[n]) for n in names)})",
        )


def _shape(name: str, secret: bool) -> str:
    return f'{name}: env("…")' if secret else f'{name}: "…"'


def _check_auth_value(name: str, secret: bool, value: ast.Scalar) -> Iterator[Diagnostic]:
    if isinstance(value, ast.Env):
        yield from check_env(value)
    elif secret:
        yield Diagnostic(
            "E305",
            f"the {name} is written literally in the spec; secrets must come from the environment",
            value.span,
            hint=f'use env("DHIS2_{name.upper()}") and set that variable where dhispatch runs',
            mask=True,
        )
    elif not isinstance(value, ast.Str) or not value.value:
        yield Diagnostic(
            "E304",
            f'the {name} must be a non-empty quoted string or env("NAME")',
            value.span,
        )


def _check_period(fmt: ast.Setting | None, ptype: ast.Setting | None) -> Iterator[Diagnostic]:
    """E308 a period format DHIS2 cannot parse; E309 an unknown period type."""
    from dhispatch.compiler.period_formats import PeriodFormatError
    from dhispatch.compiler.period_formats import period_type_for_format
    from dhispatch.runtime.plan.catalogue import PERIOD_TYPES

    if fmt is not None and isinstance(fmt.value, ast.Str):
        try:
            period_type_for_format(fmt.value.value)
        except PeriodFormatError as exc:
            yield Diagnostic("E308", str(exc), fmt.value.span, hint=exc.hint)
    if ptype is not None and isinstance(ptype.value, ast.Name):
        yield from check_choice(ptype.value, PERIOD_TYPES, "E309", "period type")


def _check_round(found: ast.Setting | None) -> Iterator[Diagnostic]:
    """E310 ``round N`` with N not a whole number of decimals from 0 to 6."""
    if found is None or not isinstance(found.value, ast.Num):
        return
    if "." in found.value.text or not 0 <= int(found.value.text) <= 6:
        yield Diagnostic(
            "E310",
            f"round takes a whole number of decimals from 0 to 6, not {found.value.text}",
            found.value.span,
            hint="bare 'round' rounds to whole numbers",
        )


def _check_timezone(found: ast.Setting | None) -> Iterator[Diagnostic]:
    """E311 a time zone the IANA database does not know."""
    if found is None or not isinstance(found.value, ast.Str):
        return
    import zoneinfo

    name = found.value.value
    try:
        zoneinfo.ZoneInfo(name)
        return
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    yield Diagnostic(
        "E311",
        f"unknown time zone {name!r}",
        found.value.span,
        hint=did_you_mean(name, sorted(zoneinfo.available_timezones()))
        or 'an IANA name such as "Pacific/Tarawa" or "UTC"',
    )


def _check_keep_payloads(found: ast.Setting | None) -> Iterator[Diagnostic]:
    """E320 ``keep_payloads N`` with N not a whole number of days from 1 to 36500."""
    if found is None or not isinstance(found.value, ast.Num):
        return
    text = found.value.text
    if "." in text or not 1 <= int(text) <= MAX_KEEP_DAYS:
        yield Diagnostic(
            "E320",
            f"keep_payloads takes a whole number of days from 1 to {MAX_KEEP_DAYS}, not {text}",
            found.value.span,
            hint=f"the default keeps accepted payloads {DEFAULT_KEEP_DAYS} days",
        )


def _check_journal(found: ast.Setting | None) -> Iterator[Diagnostic]:
    """E316 a journal path that depends on the working directory: cron, serve and a manual push
    run in different ones, and must share one journal."""
    if found is None or not isinstance(found.value, ast.Str):
        return
    path = found.value.value
    if path.startswith(("/", "~/")):
        return
    yield Diagnostic(
        "E316",
        f"journal path {path!r} is relative: a scheduled run and a manual push start in "
        "different directories and would keep different journals",
        found.value.span,
        hint='an absolute path such as "/var/lib/dhispatch/kiribati.sqlite", or one under "~/"',
    )
