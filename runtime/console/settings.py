"""What a console runs with: its entries (one plan aimed at each of its targets), the journal, the
environment, where it listens (loopback unless TLS or an explicit flag says otherwise) and the
password a login is checked against."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from dhispatch.errors import UsageError
from dhispatch.runtime.console.errors import ConsoleError
from dhispatch.runtime.console.passwords import Password
from dhispatch.runtime.plan import Plan

DEFAULT_LISTEN = "127.0.0.1:8020"
PASSWORD_VAR = "DHISPATCH_CONSOLE_PASSWORD"
HASH_VAR = "DHISPATCH_CONSOLE_PASSWORD_HASH"


@dataclass(frozen=True, slots=True)
class Listen:
    """A host and port to listen on."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a name that may resolve anywhere

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT`` (loopback); UsageError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {text!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    return Listen(host, int(port))


@dataclass(frozen=True, slots=True)
class Tls:
    """The certificate chain and key the console serves HTTPS with."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """Everything a console needs; ``plans`` are its entries, one per plan and target, each
    aimed at its target (``console_plans``); ``env`` holds credentials (never rendered)."""

    plans: tuple[Plan, ...]
    state: Path
    env: Mapping[str, str]
    password: Password
    listen: Listen = Listen("127.0.0.1", 8020)
    tls: Tls | None = None
    session_hours: float = 8.0

    def entry(self, name: str, target: str | None) -> Plan | None:
        """The plan ``name`` aimed at its target ``target`` (None: the plan without target
        blocks)."""
        return next((p for p in self.plans if (p.name, p.target.name) == (name, target)), None)

    def siblings(self, plan: Plan) -> tuple[Plan, ...]:
        """The entries of the same plan, one per target, in the spec's order."""
        return tuple(p for p in self.plans if p.name == plan.name)


def console_plans(plans: Sequence[Plan]) -> tuple[Plan, ...]:
    """One entry per plan and target, enabled or not (a disabled one is shown, never pushed
    to); a plan or target given twice is refused (its pages would have one address)."""
    entries: list[Plan] = []
    for plan in plans:
        for target in plan.named_targets:
            entry = plan.for_target(target)
            if any((p.name, p.target.name) == (entry.name, target.name) for p in entries):
                raise ConsoleError(f"{entry.label} is given twice; give each spec once")
            entries.append(entry)
    return tuple(entries)


def path_of(plan: Plan) -> str:
    """Where an entry's pages live: ``/plans/NAME/TARGET`` for a target block, ``/plan/NAME``
    for a plan with the dhis2 block alone (its URLs from before specs named targets)."""
    name = quote(plan.name, safe="")
    if plan.target.name is None:
        return f"/plan/{name}"
    return f"/plans/{name}/{quote(plan.target.name, safe='')}"


def check_listen(listen: Listen, tls: Tls | None, allow_plain: bool) -> None:
    """Refuse to serve plain HTTP beyond this machine unless explicitly allowed."""
    if listen.loopback or tls is not None or allow_plain:
        return
    raise ConsoleError(
        f"refusing to listen on {listen} without TLS: passwords and sessions would cross the "
        "network in clear; give --tls-cert and --tls-key, listen on 127.0.0.1 (and put a TLS "
        "proxy in front), or pass --allow-plain-http if the network is trusted"
    )


def tls_from(cert: str | None, key: str | None) -> Tls | None:
    """Both files or neither; each must be readable."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("give both --tls-cert and --tls-key, or neither")
    for what, path in (("certificate", cert), ("key", key)):
        if not Path(path).is_file():
            raise ConsoleError(f"cannot read the TLS {what} {path}")
    return Tls(Path(cert), Path(key))


def load_env(env_file: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment, with variables the env file (dotenv format) sets and it lacks."""
    env = dict(os.environ if base is None else base)
    if env_file is None:
        return env
    from dotenv import dotenv_values

    path = Path(env_file)
    if not path.is_file():
        raise ConsoleError(f"cannot read the env file {env_file}")
    for name, value in dotenv_values(path).items():
        if value is not None:
            env.setdefault(name, value)
    return env


def password_from(env: Mapping[str, str]) -> Password:
    """The login password from the environment (plain, or its hash); ConsoleError if unset."""
    plain, hashed = env.get(PASSWORD_VAR), env.get(HASH_VAR)
    if hashed:
        return Password(hashed=hashed)
    if plain:
        if len(plain) < 8:
            raise ConsoleError(f"{PASSWORD_VAR} is shorter than 8 characters")
        return Password(plain=plain)
    raise ConsoleError(
        f"the console needs a login password: set {PASSWORD_VAR} or {HASH_VAR} (in the "
        "environment or the --env-file)"
    )
