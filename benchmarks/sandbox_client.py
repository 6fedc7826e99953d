"""Values per second the sandbox ingests from pre-built payloads vs values per second the client
pushes end to end (DataValue objects → batches → Dhis2Client.push), measured in the same run.

The ratio client/raw says what the client's own work (payload building, default-COC lookup,
result parsing, retries bookkeeping) costs on top of the server; 1.0 means free.
Run: .venv/bin/python benchmarks/sandbox_client.py [--periods 24] [--batch 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx

from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import IdSchemes
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2 import batches_by_org_unit
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox

PASSWORD = "bench-Passw0rd!"
ADMIN = "admin"
DATA_SET = "dsBench0001"
DEFAULT_COMBO = "bjDvmb4bfuf"
DEFAULT_COC = "HllvX50cXC0"
ELEMENTS = 50
ORG_UNITS = 40


def metadata() -> dict[str, Any]:
    """A monthly data set of ELEMENTS number elements assigned to ORG_UNITS units."""
    return {
        "dataSets": [{
            "id": DATA_SET, "name": "Bench", "periodType": "Monthly", "openFuturePeriods": 1,
            "dataSetElements": [{"dataElement": {"id": element(i)}} for i in range(ELEMENTS)],
            "organisationUnits": [{"id": org_unit(j)} for j in range(ORG_UNITS)],
        }],
        "dataElements": [
            {"id": element(i), "name": f"E{i}", "valueType": "NUMBER", "aggregationType": "LAST",
             "zeroIsSignificant": True, "categoryCombo": {"id": DEFAULT_COMBO}}
            for i in range(ELEMENTS)
        ],
        "categoryCombos": [{"id": DEFAULT_COMBO, "name": "default"}],
        "categoryOptionCombos": [
            {"id": DEFAULT_COC, "name": "default", "categoryCombo": {"id": DEFAULT_COMBO}}
        ],
        "organisationUnits": [{"id": "ouBenchRoot", "name": "Root"}] + [
            {"id": org_unit(j), "name": f"U{j}", "parent": {"id": "ouBenchRoot"}}
            for j in range(ORG_UNITS)
        ],
    }  # fmt: skip


def element(i: int) -> str:
    return f"deBench{i:04d}"


def org_unit(j: int) -> str:
    return f"ouBench{j:04d}"


def months(start_index: int, count: int) -> Iterator[str]:
    for k in range(start_index, start_index + count):
        yield f"{2000 + k // 12}{k % 12 + 1:02d}"


def bench_values(periods: list[str]) -> list[DataValue]:
    """Every element × org unit × period, default category option combo (left to the client)."""
    return [
        DataValue(element(i), p, org_unit(j), None, str((i * 7 + j) % 97))
        for p in periods
        for j in range(ORG_UNITS)
        for i in range(ELEMENTS)
    ]


def raw_ingest(url: str, bodies: list[bytes], count: int) -> float:
    """POST pre-built JSON with a bare httpx client; values per second."""
    token = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    with httpx.Client(base_url=url, timeout=120) as http:
        started = time.perf_counter()
        for body in bodies:
            response = http.post("/api/dataValueSets", content=body, headers=headers)
            assert response.status_code in (200, 409), response.status_code
        elapsed = time.perf_counter() - started
    return count / elapsed


def client_push(url: str, values: list[DataValue], batch: int) -> float:
    """DataValue objects through the client, batched by org unit; values per second."""
    started = time.perf_counter()
    with Dhis2Client(url, BasicAuth(ADMIN, Secret(PASSWORD)), timeout=120) as client:
        for chunk in batches_by_org_unit(values, batch):
            result = client.push(chunk, data_set=DATA_SET, id_schemes=IdSchemes())
            assert result.status != "ERROR", result.description
    return len(values) / (time.perf_counter() - started)


def prebuilt(values: list[DataValue], batch: int, default_coc: str) -> list[bytes]:
    bodies = []
    for chunk in batches_by_org_unit(values, batch):
        rows = [
            {"dataElement": v.data_element, "period": v.period, "orgUnit": v.org_unit,
             "categoryOptionCombo": v.category_option_combo or default_coc, "value": v.value}
            for v in chunk
        ]  # fmt: skip
        bodies.append(json.dumps({"dataSet": DATA_SET, "dataValues": rows}).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=10, help="monthly periods per measurement")
    parser.add_argument("--batch", type=int, default=1000, help="values per push")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each (median)")
    parser.add_argument("--version", default="2.40", help="sandbox DHIS2 version")
    args = parser.parse_args()
    config = SandboxConfig(metadata=metadata(), version=args.version, users={ADMIN: PASSWORD})
    raw_rates: list[float] = []
    client_rates: list[float] = []
    values = bench_values(list(months(0, args.periods)))
    bodies = prebuilt(values, args.batch, DEFAULT_COC)
    size = len(values)
    with start_sandbox(config) as sandbox:
        for round_ in range(args.rounds):
            # Both sides import the same new rows into an emptied store, in alternating order,
            # so neither pays for a store the other has filled.
            order = ("raw", "client") if round_ % 2 == 0 else ("client", "raw")
            for side in order:
                sandbox.clear_values()
                if side == "raw":
                    raw_rates.append(raw_ingest(sandbox.url, bodies, size))
                else:
                    client_rates.append(client_push(sandbox.url, values, args.batch))
        with Dhis2Client(sandbox.url, BasicAuth(ADMIN, Secret(PASSWORD))) as client:
            client.default_coc()
            started = time.perf_counter()
            for chunk in batches_by_org_unit(values, args.batch):
                client.payload(chunk, DATA_SET, IdSchemes())
            build_rate = size / (time.perf_counter() - started)
    raw = statistics.median(raw_rates)
    pushed = statistics.median(client_rates)
    print(f"sandbox DHIS2 {args.version}; {size} values per measurement, batches of {args.batch},"
          f" median of {args.rounds}")  # fmt: skip
    print(f"  sandbox ingest (raw httpx, pre-built payloads): {raw:12,.0f} values/s")
    print(f"  client push end to end (DataValue -> push):     {pushed:12,.0f} values/s")
    print(f"  ratio client / raw: {pushed / raw:.2f}")
    print(f"  (client payload building alone, no HTTP: {build_rate:,.0f} values/s)")


if __name__ == "__main__":
    main()
