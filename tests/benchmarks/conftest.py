"""Every benchmark is collected twice: at its full size, marked ``bench`` (``make bench``), and at a
smoke size, tiny and unmarked, so ``make test`` runs it: a change that breaks a benchmark's code (a new
column its seed leaves empty, a renamed helper) fails CI, not the next measurement weeks later.

A benchmark takes each of its sizes from ``scale.pick(full, smoke=...)``. A smoke run's figures are
reported to its own temporary folder, never to var/bench, and mean nothing.
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
