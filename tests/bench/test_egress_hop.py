"""The egress-hop benchmark's code path, with a handful of calls: every side reaches the SDK vendor server (the
egress ones with the credential read from moto, through the handler and through the local runner) and the report
is well formed. No figure is judged: timings belong to ``make bench``."""

from __future__ import annotations

import re

import pytest

from bench import egress_hop

pytestmark = pytest.mark.moto

ROW = re.compile(r"^  (?P<name>.+?) +(?P<median>\d+\.\d{3}) ms +(?P<p95>\d+\.\d{3}) ms  (?P<requests>\d+)$")
COMPARED = re.compile(r" +\d+\.\d{3} ms vs +\d+\.\d{3} ms  = +\d+\.\d{2}x  added [+-]\d+\.\d{3} ms$")


def test_every_side_calls_the_vendor_and_the_report_is_well_formed(moto_url: str) -> None:
    lines = egress_hop.run(calls=4, block=2, warmup=1, moto_url=moto_url)

    assert lines[0].startswith("egress hop on loopback") and "4 calls per side" in lines[0]
    assert "the SDK client negotiated 2026-07-28; the egress spoke 2026-07-28 (modern)" in lines[1]
    rows = {m["name"]: m for line in lines if (m := ROW.match(line))}
    # the vendor's own log: the SDK client sends discover, tools/call and tools/list; the egress one tools/call;
    # the ping reaches no vendor; every request carried the credential (the benchmark checks the log)
    assert {name: int(row["requests"]) for name, row in rows.items()} == {
        egress_hop.BASELINE: 3,
        egress_hop.FLOOR: 1,
        egress_hop.HANDLER: 1,
        egress_hop.RUNNER: 1,
        egress_hop.INVOKE: 0,
    }
    for row in rows.values():
        assert 0 < float(row["median"]) <= float(row["p95"])
    compared = [line for line in lines if COMPARED.search(line)]
    assert len(compared) == 9
    assert any(line.lstrip().startswith("egress handler vs SDK Client, median") for line in compared)
    assert any(line.lstrip().startswith("governance -> runner -> egress vs SDK Client, p95") for line in compared)
