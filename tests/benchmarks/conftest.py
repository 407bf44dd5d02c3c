"""Every benchmark is collected twice: at its full size, marked ``bench`` (``make bench``), and at a
smoke size, tiny and unmarked, so ``make test`` runs it: a change that breaks a benchmark's code (a new
column its seed leaves empty, a renamed helper) fails CI, not the next measurement weeks later.

A benchmark takes each of its sizes from ``scale.pick(full, smoke=...)``. A smoke run's figures are
reported to its own temporary folder, never to var/bench, and mean nothing. A benchmark (or a
parameter of one) marked ``full_size_only("why")`` has no smoke run: a test of ``make test`` already
runs what it would check, and its setup is dear.
"""

from dataclasses import dataclass
from typing import TypeVar

import pytest

from tests.benchmarks import results

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    smoke: bool

    def pick(self, full: T, *, smoke: T) -> T:
        return smoke if self.smoke else full


@pytest.fixture(
    autouse=True,
    params=[pytest.param(False, id="full", marks=pytest.mark.bench), pytest.param(True, id="smoke")],
)
def scale(request, tmp_path, monkeypatch) -> Scale:
    if request.param:
        monkeypatch.setattr(results, "RESULTS", tmp_path / "bench")
    return Scale(smoke=request.param)


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        marker = item.get_closest_marker("full_size_only")
        if marker and item.callspec.params.get("scale") is True:
            item.add_marker(pytest.mark.skip(reason=f"no smoke run: {marker.args[0]}"))
