"""The egress tests' fake vendor: one HTTPS server on loopback per test, with its state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tls import TlsFiles, make_loopback_tls
from tests.unit.egress.fake_vendor import VendorState, serve


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def state() -> VendorState:
    return VendorState()


@pytest.fixture
def origin(tls: TlsFiles, state: VendorState) -> Iterator[str]:
    with serve(tls, state) as url:
        yield url
