"""Executes push plans: sources, indicators, periods, DHIS2 client, journal, scheduler, CLI."""
