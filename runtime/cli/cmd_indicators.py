"""``dhispatch indicators``: indicator values straight from the stock database, for cross-checks.

Also the options ``dhispatch explain`` shares with it (one reference date, one period, the
indicators' parameters) and how they become indicator requests.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import time
from itertools import chain
from typing import Any

import click

from dhispatch.runtime.plan import OrgUnitRule
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.printable import printable

ORG_UNIT_HELP = "How a store maps to an org unit: store_code, name_code, custom:KEY or file:PATH."


def _org_unit(value: str) -> OrgUnitRule:
    if value in ("store_code", "name_code"):
        return OrgUnitRule(value)
    if value.startswith("custom:") and value[7:]:
        return OrgUnitRule("name_custom_data", key=value[7:])
    if value.startswith("file:") and value[5:]:
        return OrgUnitRule("mapping_file", path=value[5:])
    raise click.BadParameter(f"{value!r}: {ORG_UNIT_HELP}", param_hint="--org-unit") from None


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.9f}".rstrip("0").rstrip(".")


_CELL_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--source", "database", required=True, envvar="OMSUPPLY_DB", metavar="DB",
                 help="SQLite file or postgresql:// URL (default $OMSUPPLY_DB). Opened read-only."),
    click.option("--at", "at", required=True, metavar="DATE",
                 help="Reference date: the end of that day in --tz."),
    click.option("--indicator", "indicators", multiple=True, metavar="NAME",
                 help="Indicator to compute (repeatable; default all 13)."),
    click.option("--tz", default="UTC", show_default=True, help="IANA time zone of local days."),
    click.option("--period-start", metavar="DATE",
                 help="First day of the period (default: the first day of --at's month)."),
    click.option("--org-unit", "org_unit", default="store_code", show_default=True,
                 help=ORG_UNIT_HELP),
    click.option("--within-days", type=click.IntRange(1, 3660), help="stock_expiring horizon."),
    click.option("--months", type=click.IntRange(1, 60), help="AMC look-back months."),
    click.option("--days-per-month", type=click.FloatRange(0, 31, min_open=True)),
    click.option("--adjust-for-stockouts/--no-adjust-for-stockouts", default=None,
                 help="AMC adjusted for days out of stock (default: the database's preference)."),
    click.option("--soh", type=click.Choice(["total", "available"]), default=None),
]  # fmt: skip


def cell_options(command: Any) -> Any:
    """The options of one reference date's values (shared by ``indicators`` and ``explain``)."""
    for option in reversed(_CELL_OPTIONS):
        command = option(command)
    return command


def requests_for(
    at: str, tz: str, period_start: str | None, indicators: tuple[str, ...], params: dict[str, Any]
) -> list[Any]:
    """Indicator requests for the end of ``at`` (in ``tz``); bad input is a usage error."""
    from zoneinfo import ZoneInfo
    from zoneinfo import ZoneInfoNotFoundError

    from dhispatch.runtime.indicators import INDICATORS
    from dhispatch.runtime.indicators import IndicatorRequest

    try:
        day = date.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(f"{at!r} is not a date (YYYY-MM-DD)", param_hint="--at") from None
    try:
        start = date.fromisoformat(period_start) if period_start else day.replace(day=1)
    except ValueError:
        raise click.BadParameter(f"{period_start!r} is not a date",
                                 param_hint="--period-start") from None  # fmt: skip
    if start > day:
        raise click.BadParameter("the period cannot start after --at", param_hint="--period-start")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
    for name in indicators:
        if name not in INDICATORS:
            close = difflib.get_close_matches(name, list(INDICATORS), n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (one of {', '.join(INDICATORS)})"
            raise click.BadParameter(f"unknown indicator {name!r}{hint}", param_hint="--indicator")
    reference = datetime.combine(day, time.max, tzinfo=zone)
    names = list(dict.fromkeys(indicators)) or list(INDICATORS)
    return [IndicatorRequest(n, n, params, start, reference) for n in names]


@click.command("indicators")
@cell_options
@click.option("--store", "stores", multiple=True, metavar="CODE", help="Only these stores.")
@click.option("--item", "items", multiple=True, metavar="CODE", help="Only these items.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
def command(
    database: str,
    at: str,
    indicators: tuple[str, ...],
    tz: str,
    period_start: str | None,
    org_unit: str,
    stores: tuple[str, ...],
    items: tuple[str, ...],
    fmt: str,
    **params: Any,
) -> None:
    """Rows of store code, org unit, item code, indicator, value and, when there is no value,
    why — computed in the database exactly as a push would compute them. Stores without an org
    unit are listed on stderr with the reason."""
    from dhispatch.runtime.indicators import compute
    from dhispatch.runtime.sources import open_source

    requests = requests_for(at, tz, period_start, indicators, params)
    mapping = _org_unit(org_unit)
    with open_source(database) as source:
        scope = source.scope(ScopeRules(org_unit=mapping))
        scope = replace(
            scope,
            stores=_pick(scope.stores, stores, "store"),
            items=_pick(scope.items, items, "item"),
        )
        for store in scope.stores:
            if store.org_unit is None:
                note = printable(store.org_unit_note or "")
                click.echo(f"store {printable(store.code)} has no org unit: {note}", err=True)
        by_store = {s.id: s for s in scope.stores}
        by_item = {i.id: i for i in scope.items}
        values = compute(source, scope, requests, tz=tz, within_data=True)
        # a refused date fails at the first value: before any output (no header, no lone "[")
        first = next(values, None)
        writer = _Writer(fmt)
        for value in chain((first,) if first is not None else (), values):
            store = by_store[value.store_id]
            writer.row(store.code, store.org_unit, by_item[value.item_id].code, value.key,
                       value.value, value.reason)  # fmt: skip
        writer.close()


def _pick(records: tuple[Any, ...], codes: tuple[str, ...], what: str) -> tuple[Any, ...]:
    if not codes:
        return records
    known = {r.code: r for r in records}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise click.BadParameter(
            f"no {what} with code {', '.join(unknown)} in the database's scope",
            param_hint=f"--{what}",
        )
    return tuple(known[c] for c in dict.fromkeys(codes))


class _Writer:
    """CSV rows as they come, or one JSON array streamed element by element."""

    def __init__(self, fmt: str) -> None:
        import csv

        self.fmt = fmt
        self.first = True
        self.csv = csv.writer(sys.stdout, lineterminator="\n")
        if fmt == "csv":
            self.csv.writerow(
                ["store_code", "org_unit", "item_code", "indicator", "value", "no_value_because"]
            )
        else:
            sys.stdout.write("[")

    def row(
        self,
        store: str,
        org_unit: str | None,
        item: str,
        name: str,
        value: float | None,
        reason: str | None,
    ) -> None:
        if self.fmt == "csv":
            # codes come from the stock database: printable, so a code cannot drive a terminal
            texts = [printable(t) for t in (store, org_unit or "", item)]
            self.csv.writerow([*texts, name, _fmt(value), printable(reason or "")])
            return
        record = {
            "store_code": store,
            "org_unit": org_unit,
            "item_code": item,
            "indicator": name,
            "value": value,
            "no_value_because": reason,
        }
        sys.stdout.write(("\n " if self.first else ",\n ") + json.dumps(record))
        self.first = False

    def close(self) -> None:
        if self.fmt == "json":
            sys.stdout.write("\n]\n" if not self.first else "]\n")
