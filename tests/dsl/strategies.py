"""Hypothesis strategies: syntactically valid spec texts with random layout and comments."""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = st.sampled_from(
    ["stock_on_hand", "monthly", "weekly", "code", "uid", "Monthly", "user_field_1", "x", "a_b"]
)
STRINGS = st.sampled_from(
    ["", "QX4ZTUbOt3a", "https://h.example.org", "VAL_{{ item.code }}", 'q"t', "a\\b"]
)
NUMBERS = st.sampled_from(["0", "1", "30", "90", "30.5"])


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def _scalar(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["str", "name", "num", "env"]))
    if kind == "str":
        return [_q(draw(STRINGS))]
    if kind == "name":
        return [draw(NAMES)]
    if kind == "num":
        return [draw(NUMBERS)]
    return ["env", "(", _q(draw(st.sampled_from(["A", "DHIS2_PAT"]))), ")"]


@st.composite
def _call(draw: st.DrawFn) -> list[str]:
    tokens = [draw(st.sampled_from(["basic", "token", "oauth2"])), "("]
    for index in range(draw(st.integers(0, 3))):
        if index:
            tokens.append(",")
        if draw(st.booleans()):
            tokens += [draw(st.sampled_from(["user", "password", "secret"])), ":"]
        tokens += draw(_scalar())
    return [*tokens, ")"]


@st.composite
def _target_setting(draw: st.DrawFn) -> list[str]:
    name = draw(
        st.sampled_from(
            ["url", "auth", "data_set", "id_scheme", "period_format", "period_type", "round",
             "timezone", "enabled", "disabled", "insecure", "on_vanish", "org_unit_id_scheme",
             "complete_data_set"]
        )
    )  # fmt: skip
    if name in ("url", "data_set", "period_format", "timezone"):
        return [name, _q(draw(STRINGS))]
    if name == "auth":
        return [name, *draw(_call())]
    if name == "round":
        return [name] + ([draw(NUMBERS)] if draw(st.booleans()) else [])
    if name == "enabled":
        return [name] + ([draw(st.sampled_from(["true", "false"]))] if draw(st.booleans()) else [])
    if name in ("disabled", "insecure", "complete_data_set"):
        return [name]
    return [name, draw(NAMES)]


@st.composite
def _filter(draw: st.DrawFn) -> list[str]:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return ["where", draw(NAMES), "is", "set"]
    if kind == 1:
        return ["where", "custom", "(", draw(NAMES), ")"]
    return ["in", "master_list", _q(draw(STRINGS))]


@st.composite
def _source_setting(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(["database", "items", "org_unit"]))
    if name == "database":
        value = ["env", "(", _q("DB"), ")"] if draw(st.booleans()) else [_q(draw(STRINGS))]
        return [name, *value]
    if name == "items":
        filters = draw(st.lists(_filter(), min_size=1, max_size=3))
        tokens = [name]
        for index, f in enumerate(filters):
            tokens += (["and"] if index else []) + f
        return tokens
    if draw(st.booleans()):
        return [name, "mapping", _q(draw(STRINGS))]
    tokens = [name, draw(st.sampled_from(["store", "name"])), ".", draw(NAMES)]
    return tokens + (["(", _q(draw(STRINGS)), ")"] if draw(st.booleans()) else [])


@st.composite
def _push_setting(draw: st.DrawFn) -> list[str]:
    name = draw(
        st.sampled_from(
            ["category_option", "custom_field", "data_element", "interval", "basis", "within",
             "months", "days_per_month", "adjust_for_stockouts", "soh", "paused"]
        )
    )  # fmt: skip
    if name in ("category_option", "data_element"):
        return [name, _q(draw(STRINGS))]
    if name == "interval":
        tokens = [name, draw(NAMES)]
        extra = draw(st.integers(0, 3))
        if extra == 1:
            tokens.append(_q("0 6 * * 1"))
        elif extra == 2:
            tokens += ["on", draw(NAMES)]
        elif extra == 3:
            tokens += ["on", "day", draw(NUMBERS)]
        return tokens
    if name == "within":
        return [name, draw(NUMBERS), "days"]
    if name in ("months", "days_per_month"):
        return [name, draw(NUMBERS)]
    if name in ("adjust_for_stockouts", "paused"):
        return [name]
    return [name, draw(NAMES)]


@st.composite
def _statement(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["spec", "dhis2", "target", "source", "setup", "push"]))
    if kind == "spec":
        return ["spec", _q(draw(STRINGS))]
    if kind == "dhis2":
        body = draw(st.lists(_target_setting(), max_size=5))
        return ["dhis2", "{", *(t for s in body for t in s), "}"]
    if kind == "target":
        body = draw(st.lists(_target_setting(), max_size=4))
        return ["target", _q(draw(STRINGS)), "{", *(t for s in body for t in s), "}"]
    if kind == "source":
        body = draw(st.lists(_source_setting(), max_size=3))
        return ["source", draw(NAMES), "{", *(t for s in body for t in s), "}"]
    if kind == "setup":
        if draw(st.booleans()):
            return ["setup", draw(NAMES)]
        refs = draw(st.lists(st.booleans(), max_size=2))
        body = [
            t
            for custom in refs
            for t in (["item_ref", "custom_field"] if custom else ["item_ref"]) + [draw(NAMES)]
        ]
        return ["setup", draw(NAMES), "{", *body, "}"]
    body = draw(st.lists(_push_setting(), max_size=5))
    return ["push", draw(NAMES), "{", *(t for s in body for t in s), "}"]


SEPARATORS = st.sampled_from([" ", " ", "  ", "\n", "\n    ", "  # note\n", "\n# own line\n    "])


@st.composite
def spec_texts(draw: st.DrawFn) -> str:
    """A spec that parses: random statements, random whitespace, comments in random places."""
    tokens = [t for s in draw(st.lists(_statement(), max_size=6)) for t in s]
    out: list[str] = []
    for token in tokens:
        out.append(token)
        out.append(draw(SEPARATORS))
    return ("# header\n" if draw(st.booleans()) else "") + "".join(out)
