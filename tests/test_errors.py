"""One root for every error a user can see: each error class of dsl, compiler and runtime derives
from DhispatchError, and the tree in ``dhispatch.errors`` names every one of them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from click.testing import CliRunner

import dhispatch
import dhispatch.errors
from dhispatch.errors import DhispatchError
from dhispatch.runtime.journal import Journal

# The sandbox answers these over HTTP (a 400 or 409 response); no user ever sees them raised.
HTTP_ONLY = {
    "dhispatch.runtime.sandbox.approvals.ApprovalError",
    "dhispatch.runtime.sandbox.pipeline_checks.Reject",
    "dhispatch.runtime.sandbox.query.QueryError",
    "dhispatch.runtime.sandbox.summary.ImportRequestError",
}


def _error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(dhispatch.__path__, "dhispatch."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == info.name
            ):
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_error_derives_from_the_one_root() -> None:
    classes = _error_classes()
    assert len(classes) > 20
    strays = {
        name for name, cls in classes.items()
        if not issubclass(cls, DhispatchError) and name not in HTTP_ONLY
    }  # fmt: skip
    assert strays == set()


def test_the_documented_tree_names_every_error() -> None:
    tree = dhispatch.errors.__doc__ or ""
    missing = {
        cls.__name__ for name, cls in _error_classes().items()
        if name not in HTTP_ONLY and cls.__name__ not in tree
    }  # fmt: skip
    assert missing == set()


def test_the_cli_edge_turns_errors_into_one_line_and_their_exit_code(tmp_path: Path) -> None:
    from dhispatch.runtime.cli.main import cli

    state = str(tmp_path / "state.sqlite")
    runner = CliRunner()
    usage = runner.invoke(cli, ["report", "latest", "--state", state])  # a UsageError
    assert (usage.exit_code, usage.output) == (
        2, "dhispatch: RUN must be a run number or 'last', not 'latest'\n",
    )  # fmt: skip
    Journal.open(state).close()
    missing = runner.invoke(cli, ["report", "7", "--state", state])  # a ReportError
    assert missing.exit_code == 1
    assert missing.output.startswith("dhispatch: no run 7 in ") and missing.output.count("\n") == 1
