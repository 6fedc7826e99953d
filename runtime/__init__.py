"""Executes push plans: plan contract, sources, indicators, periods, runs, journal, runner, CLI."""
