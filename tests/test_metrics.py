import numpy as np
import pytest

from mvbench.metrics import clustering_accuracy, evaluate, nmi, purity


def test_accuracy_uses_best_one_to_one_map():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([2, 2, 1, 0, 0, 1])  # 2->0 (2 right), 0->1 (2 right), 1->2 (1 right)
    assert clustering_accuracy(y, pred) == pytest.approx(5 / 6)


def test_accuracy_is_one_to_one_not_majority():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0])
    assert clustering_accuracy(y, pred) == 0.5
    assert purity(y, pred) == 0.5
    assert purity(y, np.array([0, 1, 2, 3])) == 1.0


def test_nmi_hand_computed():
    # Two classes of 2 points, one cluster splits them perfectly -> 1; independent -> 0.
    assert nmi(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])) == pytest.approx(1.0)
    assert nmi(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(0.0, abs=1e-12)

    # y = [0,0,1,1], pred = [0,0,0,1]: I = H(pred) - H(pred|y) = h(1/4) - 1/2 * h(1/2) (bits)
    def h(p):
        return -(p * np.log(p) + (1 - p) * np.log(1 - p))

    i = h(0.25) - 0.5 * h(0.5)
    expected = i / ((h(0.5) + h(0.25)) / 2)
    assert nmi(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1])) == pytest.approx(expected)


def test_evaluate_rejects_length_mismatch():
    with pytest.raises(ValueError, match="3 predicted labels for 4"):
        evaluate(np.zeros(4), np.zeros(3))
    scores = evaluate(np.array([0, 1, 1]), np.array([5, 7, 7]))
    assert scores == {"acc": 1.0, "nmi": pytest.approx(1.0), "ari": 1.0, "purity": 1.0}
