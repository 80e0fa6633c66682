"""Checks for w01.mutual_information: joint entropy, conditional entropy, mutual information.

Oracles: scikit-learn's mutual_info_score on a contingency table (natural log), scipy.stats.entropy,
hand-computed tables, and the identities I(X; Y) = H(Y) - H(Y | X) = H(X) - H(X | Y) >= 0.
"""

import math

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week01_tensors.information")

# rows X, columns Y: p(x) = [1/2, 1/2], p(y) = [1/4, 3/4]; asymmetric, so H(Y|X) != H(X|Y)
SKEWED = torch.tensor([[0.25, 0.25], [0.0, 0.5]], dtype=torch.float64)
H_XY = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5))  # 1.0397
H_X = math.log(2)
H_Y = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.5623


def _h(p: torch.Tensor) -> float:
    """Entropy of a flat probability vector by scipy (the oracle)."""
    stats = pytest.importorskip("scipy.stats", reason='pip install -e ".[hf]" (scipy)')
    return float(stats.entropy(p.flatten().numpy()))


def test_joint_entropy_of_the_worked_example():
    got = mod.joint_entropy(SKEWED)
    assert_close(
        got,
        torch.tensor(H_XY, dtype=torch.float64),
        what="joint_entropy([[1/4, 1/4], [0, 1/2]])",
        hint="H(X, Y) = -sum over every cell of p log p in nats (natural log), with 0 log 0 = 0",
    )
    assert not torch.isnan(got), "joint_entropy is NaN on a table with a 0 cell: 0 log 0 must be 0"


def test_conditional_entropy_conditions_on_the_rows():
    got = float(mod.conditional_entropy(SKEWED))
    assert math.isclose(got, H_XY - H_X, abs_tol=1e-9), (
        f"conditional_entropy([[1/4, 1/4], [0, 1/2]]) = {got:.4f}, expected H(Y | X) = "
        f"H(X, Y) - H(X) = {H_XY - H_X:.4f}. Rows are X: subtract the entropy of the row sums. "
        f"{H_XY - H_Y:.4f} would be H(X | Y) (the column sums): the wrong side of the bar"
    )
    swapped = float(mod.conditional_entropy(SKEWED.T))
    assert math.isclose(swapped, H_XY - H_Y, abs_tol=1e-9), (
        f"conditional_entropy(table.T) = {swapped:.4f}, expected H(X | Y) = {H_XY - H_Y:.4f}"
    )


def test_mutual_information_of_the_worked_examples():
    cases = [
        ([[0.5, 0.0], [0.0, 0.5]], math.log(2), "Y = X, a fair bit: I = ln 2"),
        ([[0.25, 0.25], [0.25, 0.25]], 0.0, "independent: I = 0"),
        (SKEWED.tolist(), H_Y - (H_XY - H_X), "I = H(Y) - H(Y | X)"),
    ]
    for table, expected, why in cases:
        got = float(mod.mutual_information(torch.tensor(table, dtype=torch.float64)))
        assert math.isclose(got, expected, abs_tol=1e-9), (
            f"mutual_information({table}) = {got:.4f}, expected {expected:.4f} ({why}); in nats "
            "(natural log), from the normalised table"
        )


@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (6, 1), (7, 7)])
def test_mutual_information_matches_sklearn_on_count_tables(shape):
    metrics = pytest.importorskip(
        "sklearn.metrics", reason='pip install -e ".[rag]" (scikit-learn)'
    )
    g = generator(sum(shape))
    counts = torch.randint(0, 9, shape, generator=g).to(torch.float64)
    counts[0, 0] += 1  # never an all-zero table
    got = mod.mutual_information(counts)
    expected = metrics.mutual_info_score(None, None, contingency=counts.long().numpy())
    assert_close(
        got,
        torch.tensor(expected, dtype=torch.float64),
        atol=1e-9,
        what=f"mutual_information(counts {shape}) vs sklearn mutual_info_score",
        hint="counts are normalised per table first; natural log; 0 cells contribute 0",
    )


def test_entropies_match_scipy_and_the_identities_hold():
    g = generator(11)
    joint = torch.rand(4, 6, generator=g, dtype=torch.float64) ** 3
    p = joint / joint.sum()
    h_xy, h_x, h_y = _h(p), _h(p.sum(1)), _h(p.sum(0))
    assert math.isclose(float(mod.joint_entropy(joint)), h_xy, abs_tol=1e-9), (
        "joint_entropy disagrees with scipy.stats.entropy of the normalised table"
    )
    h_y_given_x = float(mod.conditional_entropy(joint))
    h_x_given_y = float(mod.conditional_entropy(joint.T))
    mi = float(mod.mutual_information(joint))
    assert math.isclose(h_y_given_x, h_xy - h_x, abs_tol=1e-9), (
        f"conditional_entropy = {h_y_given_x:.5f}, expected H(X, Y) - H(X) = {h_xy - h_x:.5f}"
    )
    assert math.isclose(mi, h_y - h_y_given_x, abs_tol=1e-9), (
        f"mutual_information = {mi:.5f}, but H(Y) - H(Y | X) = {h_y - h_y_given_x:.5f}"
    )
    assert math.isclose(mi, h_x - h_x_given_y, abs_tol=1e-9), (
        f"mutual_information = {mi:.5f}, but H(X) - H(X | Y) = {h_x - h_x_given_y:.5f}: "
        "I(X; Y) is symmetric"
    )
    assert math.isclose(float(mod.mutual_information(joint.T)), mi, abs_tol=1e-9), (
        "mutual_information(table.T) differs from mutual_information(table); I is symmetric"
    )
    assert 0.0 <= mi <= min(h_x, h_y) + 1e-9, (
        f"mutual_information = {mi:.5f} outside [0, min(H(X), H(Y)) = {min(h_x, h_y):.5f}]"
    )


def test_independent_tables_share_nothing_and_never_go_negative():
    g = generator(3)
    for trial in range(20):
        px = torch.rand(5, generator=g, dtype=torch.float64)
        py = torch.rand(3, generator=g, dtype=torch.float64)
        joint = torch.outer(px, py) * (10.0 ** (trial % 5))
        mi = mod.mutual_information(joint)
        assert float(mi) >= 0.0, (
            f"mutual_information of an independent table = {float(mi):.3e} < 0: the docstring "
            "promises never negative (a rounding error below 0 is returned as 0)"
        )
        assert float(mi) < 1e-9, (
            f"mutual_information of an independent table p(x) p(y) = {float(mi):.3e}, expected 0"
        )
        h_y = _h(py / py.sum())
        assert math.isclose(float(mod.conditional_entropy(joint)), h_y, abs_tol=1e-9), (
            "conditional_entropy of an independent table should equal H(Y): knowing X tells "
            "nothing about Y"
        )


def test_a_function_of_x_leaves_no_uncertainty():
    # each row has one non-zero cell: Y = f(X), with f many-to-one (rows 0 and 2 both give y = 1)
    joint = torch.tensor([[0.0, 0.3, 0.0], [0.2, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=torch.float64)
    h_y_given_x = float(mod.conditional_entropy(joint))
    assert abs(h_y_given_x) < 1e-9, (
        f"conditional_entropy = {h_y_given_x:.4f} when Y is a function of X (one non-zero cell "
        "per row); expected 0"
    )
    expected = _h(joint.sum(0))
    assert math.isclose(float(mod.mutual_information(joint)), expected, abs_tol=1e-9), (
        "mutual_information should equal H(Y) when Y is a function of X"
    )


def test_counts_batches_and_magnitudes():
    g = generator(5)
    tables = torch.rand(3, 4, 5, generator=g, dtype=torch.float64)
    tables[1, 2, :] = 0.0  # a zero row
    tables[2, :, 3] = 0.0  # a zero column
    for fn in (mod.joint_entropy, mod.conditional_entropy, mod.mutual_information):
        name = fn.__name__
        batched = fn(tables)
        assert batched.shape == (3,), (
            f"{name}(tables (3, 4, 5)) has shape {tuple(batched.shape)}, expected (3,): one value "
            "per table; reduce over the last two dims only"
        )
        assert not torch.isnan(batched).any(), f"{name} gives NaN on a table with a 0 row/column"
        one_by_one = torch.stack([fn(t) for t in tables])
        assert_close(batched, one_by_one, what=f"{name} of a batch vs table by table")
        for scale in (1e-30, 1e6):
            assert_close(
                fn(tables * scale),
                batched,
                atol=1e-9,
                what=f"{name}(tables * {scale:g})",
                hint="each table is normalised to sum 1 first: counts and probabilities agree",
            )


@pytest.mark.parametrize("fn", ["joint_entropy", "conditional_entropy", "mutual_information"])
def test_invalid_tables_are_refused(fn):
    f = getattr(mod, fn)
    negative = torch.tensor([[0.5, 0.6], [-0.1, 0.0]])
    for bad, why in ((negative, "a negative entry"), (torch.zeros(2, 3), "an all-zero table")):
        try:
            f(bad)
        except ValueError:
            continue
        pytest.fail(f"{fn} accepted {why} without raising; the docstring promises ValueError")
