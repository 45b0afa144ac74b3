"""Options and marker of the simulation.

    pytest tests/simulation                         the fixed seeds of ``make test``
    pytest tests/simulation -m soak --seeds 200     200 seeds from 1 (``make soak SEEDS=200``)
    pytest tests/simulation -m soak --seed 42       replay seed 42 (``make soak SEEDS=1 SEED=42``)
    ... --steps 300                                 steps per soak run (default 200)

Options are only known when pytest is pointed at this folder (or a file in it): pytest
reads a conftest's options only when the conftest sits on the path it was given.
"""

from __future__ import annotations

import pytest

SOAK_STEPS = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simulation", "seeded fault-injection simulation")
    group.addoption("--seeds", type=int, default=None, help="soak: run this many seeds (from --seed, default 1)")
    group.addoption("--seed", type=int, default=None, help="soak: the first seed; alone, replay that one seed")
    group.addoption("--steps", type=int, default=None, help=f"soak: steps per run (default {SOAK_STEPS})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: many seeded simulation runs; only with --seeds/--seed (make soak)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "soak_seed" not in metafunc.fixturenames:
        return
    count = metafunc.config.getoption("seeds", default=None)
    first = metafunc.config.getoption("seed", default=None)
    if count is None and first is not None:
        count = 1
    seeds = list(range(first or 1, (first or 1) + count)) if count else []
    # no --seeds: an empty parameter set, so `make test` skips the soak test
    metafunc.parametrize("soak_seed", seeds, ids=[f"seed{seed}" for seed in seeds])


@pytest.fixture
def soak_steps(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("steps", default=None) or SOAK_STEPS)
