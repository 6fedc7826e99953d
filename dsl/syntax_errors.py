"""Labelled examples of syntax errors: the table the parser matches against, and the test table.

Each label is the kind of mistake; ``match_examples`` finds the example whose parser state equals
the failing one. LALR states also depend on stack depth, so every snippet is also tried after a
valid first statement (``SECOND_STATEMENT_PREFIX``), and in blocks after a valid first setting.
"""

from __future__ import annotations

SECOND_STATEMENT_PREFIX = 'spec "x"\n'

# label -> (code, what was wrong)
LABELS: dict[str, tuple[str, str]] = {
    "statement": (
        "E106",
        "expected a statement (spec, dhis2, target, source, setup, push, alerts)",
    ),
    "dhis2": ("E102", "unknown setting in the dhis2 block"),
    "source": ("E103", "unknown setting in the source block"),
    "setup": ("E104", "unknown setting in the setup block"),
    "push": ("E105", "unknown setting in the push block"),
    "alerts": ("E115", "unknown setting in the alerts block"),
    "value": ("E107", "missing or malformed value"),
    "name": ("E110", "missing name after the statement keyword"),
    "call": ("E111", "malformed argument list"),
    "brace": ("E114", "missing '{' to open the block"),
    "filter": ("E112", "malformed item filter"),
    "org_unit": ("E113", "malformed org unit reference"),
}

_VALUE_SNIPPETS = [
    'dhis2 { url }', 'dhis2 { auth }', 'dhis2 { data_set }', 'dhis2 { id_scheme }',
    'dhis2 { org_unit_id_scheme }', 'dhis2 { category_option_combo_id_scheme }',
    'dhis2 { period_format }', 'dhis2 { period_type }', 'dhis2 { timezone }',
    'dhis2 { on_vanish }', 'dhis2 { attribute_option_combo }', 'dhis2 { auth basic }',
    'dhis2 { journal }', 'dhis2 { keep_payloads }',
    'source omsupply { database }', 'source omsupply { items }', 'source omsupply { org_unit }',
    'source omsupply { database env }', 'source omsupply { database env( }',
    'source omsupply { database env("X" }',
    'setup x { item_ref }', 'setup x { item_ref custom_field }',
    'push x { category_option }', 'push x { custom_field }', 'push x { data_element }',
    'push x { interval }', 'push x { basis }', 'push x { within }', 'push x { within 9 }',
    'push x { months }', 'push x { days_per_month }', 'push x { soh }',
    'push x { interval weekly on }', 'push x { interval monthly on day }',
    'alerts { webhook }', 'alerts { email_to }', 'alerts { email_from }', 'alerts { smtp }',
    'alerts { smtp_user }', 'alerts { smtp_password }', 'alerts { offline_hours }',
    'alerts { stale_days }',
    'spec }', 'spec',
]  # fmt: skip

SYNTAX_ERRORS: dict[str, list[str]] = {
    "statement": ["pushh x {}", "}", '"x"', "url", "{"],
    "dhis2": ["dhis2 { urll", 'dhis2 { url "x" urll', "dhis2 { push", 'dhis2 { url "x" interval',
              'target "x" { urll', 'target "x" { url "y" urll'],
    "source": ["source omsupply { item", 'source omsupply { database "x" item'],
    "setup": ["setup x { item", "setup x { item_ref y item"],
    "push": ["push x { intervall", "push x { basis y intervall", "push x { url"],
    "alerts": ["alerts { webhok", 'alerts { email_to "x" smpt', "alerts { url"],
    "value": _VALUE_SNIPPETS,
    "name": ["push {", "source {", "setup {", "push", "source", "target {", "target"],
    "call": [
        "dhis2 { auth basic(", "dhis2 { auth basic(user", "dhis2 { auth basic(user:",
        'dhis2 { auth basic(user: "x"', 'dhis2 { auth basic(user: "x",',
        'dhis2 { auth basic(user: "x", password: "y"',
        "dhis2 { auth basic(env(", "dhis2 { auth basic(user: env(",
        'dhis2 { auth basic(user: env("x"', "dhis2 { auth basic(user: env",
    ],
    "brace": [
        "push x interval",
        "source omsupply database",
        "dhis2 url",
        'target "x" url',
        "alerts webhook",
    ],
    "filter": [
        "source omsupply { items where", "source omsupply { items where x",
        "source omsupply { items where x is", "source omsupply { items where x(",
        "source omsupply { items where x(y", "source omsupply { items in",
        "source omsupply { items in master_list", 'source omsupply { items in master_list "x" and',
    ],
    "org_unit": [
        "source omsupply { org_unit store", "source omsupply { org_unit store.",
        "source omsupply { org_unit store.custom(", 'source omsupply { org_unit store.custom("x"',
        "source omsupply { org_unit mapping",
    ],
}  # fmt: skip


# A valid first setting per block, to make the "second setting" variant of a snippet.
_FIRST_SETTING = {
    "dhis2 { ": "disabled ",
    'target "x" { ': "disabled ",
    "source omsupply { ": 'database "d" ',
    "setup x { ": "item_ref f ",
    "push x { ": "paused ",
    "alerts { ": "stale_days 1 ",
}


def variants(snippet: str) -> list[str]:
    """A snippet as first and as later statement, and in a block as first and later setting."""
    forms = [snippet]
    for head, setting in _FIRST_SETTING.items():
        if snippet.startswith(head):
            forms.append(head + setting + snippet[len(head) :])
    return [*forms, *(SECOND_STATEMENT_PREFIX + form for form in forms)]


def with_variants(table: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """The table with every snippet expanded into its positional variants (same labels)."""
    return [
        (label, [v for s in snippets for v in variants(s)]) for label, snippets in table.items()
    ]
