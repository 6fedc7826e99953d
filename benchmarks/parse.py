"""Spec front-end cost: parse+check time per 200-line spec, and ``dhispatch check`` cold start.

Prints absolute times and ratios against baselines measured in the same process: lexing the same
text with the same Lark lexer (the least any parser must do), and a bare ``python -c pass`` start.
Targets: under 20 ms per spec; under 0.5 s cold start.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dhispatch.compiler import check_source
from dhispatch.dsl.parser import get_parser
from dhispatch.runtime.plan import INDICATORS

ROOT = Path(__file__).resolve().parent.parent
HEAD = """# generated benchmark spec {n}
spec "bench-{n}"

dhis2 {{
    url                "https://dhis2.example.org"
    auth               basic(user: env("DHIS2_USER"), password: env("DHIS2_PASSWORD"))
    data_set           "QX4ZTUbOt3a"
    id_scheme          code
    org_unit_id_scheme code
    period_format      "YYYYMM"
    round
    timezone           "Pacific/Tarawa"
}}

source omsupply {{
    database env("OMSUPPLY_DB")
    items    where universal_code is set and in master_list "DHIS2"
    org_unit store.custom("Dhis2Code")
}}

setup category_option_combo {{
    item_ref universal_code
}}
"""
PUSH = """
# push {i}
push {indicator} {{
    category_option "c{i:010d}"
    interval        {interval}
    basis           {basis}
}}
"""


def generated_spec(n: int, lines: int = 200) -> str:
    """A valid spec of about ``lines`` lines: a full header and as many pushes as fit."""
    rng = random.Random(n)
    text = HEAD.format(n=n)
    i = 0
    while text.count("\n") + 7 <= lines:
        indicator = rng.choice([k for k, ind in INDICATORS.items() if not ind.params])
        interval = rng.choice(["monthly", "weekly on friday", "monthly on day 5", "daily"])
        basis = rng.choice(["previous_month", "previous_period", "current_day"])
        text += PUSH.format(i=i, indicator=indicator, interval=interval, basis=basis)
        i += 1
    return text


def per_spec(texts: list[str]) -> tuple[float, float]:
    """Median seconds per spec of parse+check, and of lexing alone (the baseline)."""
    lexer = get_parser()
    check_source(texts[0], "warm.push")  # build the parser and import the checks once
    full, lex = [], []
    for n, text in enumerate(texts):
        start = time.perf_counter()
        diagnostics = check_source(text, f"bench{n}.push")
        full.append(time.perf_counter() - start)
        assert not [d for d in diagnostics if d.severity == "error"], diagnostics[:1]
        start = time.perf_counter()
        for _ in lexer.lex(text):
            pass
        lex.append(time.perf_counter() - start)
    return statistics.median(full), statistics.median(lex)


def cold_start(args: list[str], runs: int = 7) -> float:
    """Median wall time of a fresh interpreter running ``args``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    texts = [generated_spec(n) for n in range(100)]
    lines = statistics.mean(t.count("\n") for t in texts)
    full, lex = per_spec(texts)
    print(f"parse+check: {len(texts)} specs of ~{lines:.0f} lines")
    print(
        f"  {full * 1000:.2f} ms per spec (median)"
        f"   target < 20 ms: {'OK' if full < 0.02 else 'MISSED'}"
    )
    print(
        f"  baseline, lexing only: {lex * 1000:.2f} ms  -> parse+check = {full / lex:.1f}x lexing"
    )
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "one.push"
        spec.write_text(texts[0], encoding="utf-8")
        check = cold_start([sys.executable, "-m", "dhispatch.runtime.cli.main", "check", str(spec)])
    bare = cold_start([sys.executable, "-c", "pass"])
    print(f"cold start of `dhispatch check` on one spec: {check * 1000:.0f} ms (median of 7)")
    print(f"  target < 500 ms: {'OK' if check < 0.5 else 'MISSED'}")
    print(f"  baseline, bare interpreter: {bare * 1000:.0f} ms  -> check = {check / bare:.1f}x")


if __name__ == "__main__":
    main()
