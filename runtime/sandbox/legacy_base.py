"""The pieces of a ≤2.42 import every check uses: the value being checked, the import's run
state (named data set, option combo cache), and conflicts in the version's wording."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

from dhispatch.runtime.sandbox.codes import LEGACY
from dhispatch.runtime.sandbox.codes import Arg
from dhispatch.runtime.sandbox.codes import java_text
from dhispatch.runtime.sandbox.codes import messages_for
from dhispatch.runtime.sandbox.context import ImportContext
from dhispatch.runtime.sandbox.periods import Period
from dhispatch.runtime.sandbox.summary import Conflict

CACHE_MISS_THRESHOLD = 250  # DefaultDataValueSetService: option combo cache heated after this
T = TypeVar("T")


@dataclass
class Entry:
    """One value on its way through the chain: identifiers as sent, then what they resolve to."""

    i: int
    raw: dict[str, Any]
    de_id: str
    pe_id: str
    ou_id: str
    coc_id: str | None
    aoc_id: str | None
    de: str = ""
    period: Period | None = None
    ou: str = ""
    coc: str = ""
    aoc: str = ""
    value: str | None = None

    @property
    def when(self) -> Period:
        assert self.period is not None, "resolved by the existence checks"
        return self.period


@dataclass
class ComboCache:
    """The option combo lookup of ≤2.42: through ``CategoryOptionComboAclCallable`` (a combo
    with an option the user may not write is "not found") until the cache is heated, by
    ``preheatCache=true`` or after more than 250 distinct identifiers; heated lookups skip the
    ACL, so the option access checks (E7614/E7616) report it instead."""

    heated: bool
    seen: set[str] = field(default_factory=set)

    def lookup(self, ctx: ImportContext, ident: str) -> str | None:
        self.seen.add(ident)
        scheme = ctx.options.schemes["categoryOptionCombo"]  # also for AOCs on ≤2.42
        found = ctx.index.resolve("categoryOptionCombos", ident, scheme)
        if found is not None and not self.heated:
            if ctx.index.rules.unwritable_options(ctx.user, found):
                return None
        return found

    def after_value(self) -> None:
        if len(self.seen) > CACHE_MISS_THRESHOLD:
            self.heated = True


@dataclass
class Run:
    """One import's state shared by the checks."""

    ctx: ImportContext
    data_set: str | None  # the header's data set (uid), if named
    combos: ComboCache
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """One answer per key and import, like the CachingMaps of core's ImportContext."""
        if key not in self.memo:
            self.memo[key] = compute()
        result: T = self.memo[key]
        return result


def conflict(
    ctx: ImportContext,
    code: str,
    objects: Sequence[tuple[str, str | None]],
    args: Sequence[Arg],
    at: Entry | int,
    prop: str | None,
    legacy: tuple[str, Sequence[Arg]] | None = None,
) -> Conflict:
    """A conflict in the version's wording. ``objects`` map the schema names of core's object
    types to the identifiers as sent; ``legacy`` is the ≤2.36 (object, text arguments) when
    they differ from the 2.37+ ones (default: the first object, the same arguments)."""
    index = at.i if isinstance(at, Entry) else at
    text = messages_for(ctx.minor)[code].format(*[java_text(a) for a in args])
    obj, legacy_args = legacy or (str(objects[0][1]) if objects else "", args)
    old = (obj, LEGACY[code].format(*[java_text(a) for a in legacy_args]))
    return Conflict(code, tuple(objects), text, prop, (index,), old)


def entry(i: int, raw: Any, header: Mapping[str, Any]) -> Entry:
    """≤2.42 reads period, org unit and attribute option combo from the header when it has
    them (``createDataValueContext``: the outer object wins over the value's own)."""
    raw = raw if isinstance(raw, dict) else {}
    coc = raw.get("categoryOptionCombo")
    aoc = header.get("attributeOptionCombo") or raw.get("attributeOptionCombo")
    return Entry(
        i,
        raw,
        str(raw.get("dataElement") or ""),
        str(header.get("period") or raw.get("period") or ""),
        str(header.get("orgUnit") or raw.get("orgUnit") or ""),
        str(coc) if coc else None,
        str(aoc) if aoc else None,
    )
