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

import httpx

from dhispatch.runtime import demo_country as demo
from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import IdSchemes
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2 import batches_by_org_unit
from dhispatch.runtime.sandbox.demo import demo_metadata
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox

PASSWORD = "bench-Passw0rd!"


def months(start_index: int, count: int) -> Iterator[str]:
    for k in range(start_index, start_index + count):
        yield f"{2000 + k // 12}{k % 12 + 1:02d}"


def tonga_values(periods: list[str]) -> list[DataValue]:
    """Tonga's data set: one stock-on-hand element per item on the DHIS2 list, per store."""
    items = [i for i in range(1, demo.DEMO_ITEMS + 1) if demo.item_in_dhis2_master_list(i)]
    stores = range(1, demo.DEMO_STORES + 1)
    return [
        DataValue(demo.item_user_field_1(i), p, demo.org_unit_uid(j), None, str((i * j) % 97))
        for p in periods
        for j in stores
        for i in items
    ]


def raw_ingest(url: str, bodies: list[bytes], count: int) -> float:
    """POST pre-built JSON with a bare httpx client; values per second."""
    token = base64.b64encode(f"{demo.ADMIN_USER}:{PASSWORD}".encode()).decode()
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
    with Dhis2Client(url, BasicAuth(demo.ADMIN_USER, Secret(PASSWORD)), timeout=120) as client:
        for chunk in batches_by_org_unit(values, batch):
            result = client.push(chunk, data_set=demo.TONGA_DATA_SET, id_schemes=IdSchemes())
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
        bodies.append(json.dumps({"dataSet": demo.TONGA_DATA_SET, "dataValues": rows}).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=24, help="monthly periods per measurement")
    parser.add_argument("--batch", type=int, default=1000, help="values per push")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each (median)")
    parser.add_argument("--version", default="2.40", help="sandbox DHIS2 version")
    args = parser.parse_args()
    config = SandboxConfig(metadata=demo_metadata(), version=args.version,
                           users={demo.ADMIN_USER: PASSWORD})  # fmt: skip
    raw_rates: list[float] = []
    client_rates: list[float] = []
    with start_sandbox(config) as sandbox:
        offset = 0
        size = 0
        for _ in range(args.rounds):
            # Fresh periods for each measurement, so both sides import new rows (not updates).
            raw_values = tonga_values(list(months(offset, args.periods)))
            offset += args.periods
            client_values = tonga_values(list(months(offset, args.periods)))
            offset += args.periods
            size = len(raw_values)
            bodies = prebuilt(raw_values, args.batch, demo.DEFAULT_COC)
            raw_rates.append(raw_ingest(sandbox.url, bodies, len(raw_values)))
            client_rates.append(client_push(sandbox.url, client_values, args.batch))
    raw = statistics.median(raw_rates)
    pushed = statistics.median(client_rates)
    print(f"sandbox DHIS2 {args.version}; {size} values per measurement, batches of {args.batch},"
          f" median of {args.rounds}")  # fmt: skip
    print(f"  sandbox ingest (raw httpx, pre-built payloads): {raw:12,.0f} values/s")
    print(f"  client push end to end (DataValue -> push):     {pushed:12,.0f} values/s")
    print(f"  ratio client / raw: {pushed / raw:.2f}")


if __name__ == "__main__":
    main()
