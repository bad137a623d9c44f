"""The per-instance cost estimate that decides which predictions may run on the event loop."""

from __future__ import annotations

import pytest

from predictions.costs import ModelCosts


def test_an_unmeasured_model_has_no_estimate() -> None:
    assert ModelCosts().seconds("iris:1:abc") is None


def test_the_estimate_scales_with_the_instances_asked_for() -> None:
    costs = ModelCosts()
    costs.observe("iris:1:abc", 0.004, instances=4)  # 1 ms an instance

    assert costs.seconds("iris:1:abc") == pytest.approx(0.001)
    assert costs.seconds("iris:1:abc", 1000) == pytest.approx(1.0)


def test_the_average_moves_towards_new_calls_a_fifth_at_a_time() -> None:
    costs = ModelCosts()
    costs.observe("m", 0.001)
    costs.observe("m", 0.006)

    assert costs.seconds("m") == pytest.approx(0.002)


def test_models_are_measured_apart() -> None:
    costs = ModelCosts()
    costs.observe("cheap", 0.00001)
    costs.observe("dear", 0.01)

    assert costs.seconds("cheap") == pytest.approx(0.00001)
    costs.clear()
    assert costs.seconds("dear") is None
