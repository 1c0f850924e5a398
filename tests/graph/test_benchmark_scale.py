"""benchmarks/graph.py --scale: every default size times K (hand-computed expectations)."""

import importlib.util
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "graph.py"


def load():
    spec = importlib.util.spec_from_file_location("graph_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_scale_multiplies_every_size():
    bench = load()
    assert bench.scaled(bench.Sizes(), 2) == bench.Sizes(
        orgs=100, hosts=200_000, accounts=2_000_000, logons=4_000_000, systems=1_200, stores=600
    )
    assert bench.scaled(bench.SMALL, 0.5) == bench.Sizes(
        orgs=25, hosts=2_500, accounts=25_000, logons=50_000, systems=60, stores=30
    )
    assert bench.scaled(bench.Sizes(), 1) == bench.Sizes()
