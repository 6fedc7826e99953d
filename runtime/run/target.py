"""Which journal target a plan's run belongs to: its server (URL without userinfo), data set and
user — so a copy of a spec aimed at another server starts from nothing instead of believing the
first server's values are already there."""

from __future__ import annotations

from collections.abc import Mapping

from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import TargetKey
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Target


def target_user(target: Target, env: Mapping[str, str]) -> str:
    """The user the spec authenticates as: the user's name (literal, or read from its variable),
    or for a token, the variable holding it (the token's user is only known to DHIS2)."""
    auth = target.auth
    if auth.kind == "token":
        return f"token:{auth.token.env if auth.token else ''}"
    if auth.user is None:
        return ""
    resolved = auth.user.resolve(env)
    return resolved if resolved is not None else f"env:{auth.user.env}"


def target_key(target: Target, env: Mapping[str, str]) -> TargetKey:
    return TargetKey(target.url, target.data_set, target_user(target, env))


def resolve_target(
    journal: Journal, plan: Plan, env: Mapping[str, str], *, create: bool = True
) -> int | None:
    """The plan's target id; on first use, the plan's schema-1 history when it proves to be its
    own (``Journal.legacy_claimable``) — read-only callers (``create`` False) see it without
    claiming it. None: a read-only look at a target the journal has never seen."""
    key = target_key(plan.target, env)
    found = journal.target_id(key, create=False)
    if found is not None:
        _name(journal, found, plan, create)
        return found
    claimable = journal.legacy_claimable(
        plan.name, plan.metadata.spec_sha256, plan.target.data_set, plan.target.url
    )
    if not create:
        return 0 if claimable else None
    target = journal.target_id(key)
    assert target is not None
    if claimable:
        journal.claim_legacy(plan.name, target)
    _name(journal, target, plan, create)
    return target


def _name(journal: Journal, target_id: int, plan: Plan, writable: bool) -> None:
    """Remember the spec's name for the target (``log --target NAME``)."""
    name = plan.target.name
    if writable and name is not None and journal.target_names().get(target_id) != name:
        journal.name_target(target_id, name)
