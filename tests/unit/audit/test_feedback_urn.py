"""Ensign et al. (2018) reproduced: the naive urn runs away from the true rates, the surprise urn does not."""

from __future__ import annotations

import numpy as np
import pytest

from pulsetwin.audit.feedback import simulate_urn
from pulsetwin.exceptions import ParameterError

# Oakland drug-crime rates per day and prior counts from Ensign et al. (2018), section 6 / the authors' code.
LAMBDA_A, LAMBDA_B = 3.68511, 2.816466
PRIOR = (609, 379)
TRUE_SHARE_A = LAMBDA_A / (LAMBDA_A + LAMBDA_B)
RUNAWAY_MARGIN = 0.1
CORRECTED_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def oakland() -> dict[tuple[str, float], np.ndarray]:
    """Mean and final patrol share of A for both urns, with the paper's 1% daily decay and without."""
    out = {}
    for decay in (0.01, 0.0):
        for correction in ("none", "surprise"):
            result = simulate_urn(
                (LAMBDA_A, LAMBDA_B),
                PRIOR,
                days=1000,
                runs=200,
                correction=correction,
                decay=decay,
                seed=2018,
            )
            out[(correction, decay)] = np.array([result.mean_share[0], result.final_share[0]])
    return out


def test_true_share_of_a_is_about_0567() -> None:
    assert pytest.approx(0.5668, abs=1e-4) == TRUE_SHARE_A


def test_naive_urn_over_patrols_a_with_decay(oakland: dict[tuple[str, float], np.ndarray]) -> None:
    mean_share, final_share = oakland[("none", 0.01)]
    assert mean_share > TRUE_SHARE_A + RUNAWAY_MARGIN
    assert final_share > TRUE_SHARE_A + 2 * RUNAWAY_MARGIN  # still running away after 1,000 days


def test_surprise_urn_recovers_true_share_with_decay(oakland: dict[tuple[str, float], np.ndarray]) -> None:
    mean_share, final_share = oakland[("surprise", 0.01)]
    assert abs(mean_share - TRUE_SHARE_A) < CORRECTED_TOLERANCE
    assert abs(final_share - TRUE_SHARE_A) < CORRECTED_TOLERANCE


def test_without_decay_the_naive_urn_still_ends_far_above_the_truth(
    oakland: dict[tuple[str, float], np.ndarray],
) -> None:
    naive_final = oakland[("none", 0.0)][1]
    corrected_final = oakland[("surprise", 0.0)][1]
    assert naive_final > TRUE_SHARE_A + RUNAWAY_MARGIN
    assert abs(corrected_final - TRUE_SHARE_A) < CORRECTED_TOLERANCE


def test_surprise_update_generalises_to_more_areas() -> None:
    rates = np.array([1.0, 2.0, 3.0])
    result = simulate_urn(rates, (50, 30, 20), days=3000, runs=100, correction="surprise", decay=0.01, seed=3)
    np.testing.assert_allclose(result.final_share, rates / rates.sum(), atol=0.03)


def test_equal_rates_give_no_systematic_drift() -> None:
    result = simulate_urn((1.0, 1.0), (10, 10), days=500, runs=400, seed=5)
    assert result.final_share[0] == pytest.approx(0.5, abs=0.03)


def test_same_seed_same_history() -> None:
    first = simulate_urn((2.0, 1.0), (3, 3), days=50, runs=4, seed=11)
    second = simulate_urn((2.0, 1.0), (3, 3), days=50, runs=4, seed=11)
    np.testing.assert_array_equal(first.visits, second.visits)
    np.testing.assert_array_equal(first.counts, second.counts)


def test_visit_probabilities_are_the_urn_shares() -> None:
    result = simulate_urn((2.0, 1.0), (3, 1), days=20, runs=3, seed=1)
    np.testing.assert_allclose(result.visit_probability[:, 0], [[0.75, 0.25]] * 3)
    np.testing.assert_allclose(result.visit_probability.sum(axis=2), 1.0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rates": (1.0,)}, "rates"),
        ({"rates": (1.0, -1.0)}, "rates"),
        ({"prior": (1, 2, 3)}, "prior"),
        ({"prior": (1.5, 2)}, "prior"),
        ({"days": 0}, "days"),
        ({"runs": True}, "runs"),
        ({"correction": "ipw"}, "correction"),
        ({"decay": 1.0}, "decay"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {"rates": (1.0, 2.0), "prior": (1, 1), "days": 5, "runs": 2, "seed": 0}
    arguments.update(kwargs)
    with pytest.raises(ParameterError, match=f"'{name}'"):
        simulate_urn(**arguments)  # type: ignore[arg-type]
