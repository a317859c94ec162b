"""The CRF equals brute-force enumeration of every tag path on tiny cases."""

from __future__ import annotations

import itertools
import math

import pytest

torch = pytest.importorskip("torch")

from labelwise.models.crf import CRF  # noqa: E402


def brute_force(crf, emissions, length):
    scores = {}
    for path in itertools.product(range(crf.n_tags), repeat=length):
        tags = torch.tensor([list(path) + [0] * (emissions.shape[0] - length)])
        mask = torch.tensor([[True] * length + [False] * (emissions.shape[0] - length)])
        scores[path] = float(crf.path_score(emissions[None], tags, mask)[0])
    values = torch.tensor(list(scores.values()), dtype=torch.float64)
    log_z = float(torch.logsumexp(values, dim=0))
    return scores, log_z


@pytest.fixture
def crf():
    torch.manual_seed(0)
    model = CRF(3).double()
    with torch.no_grad():
        model.transitions.normal_()
        model.start.normal_()
        model.end.normal_()
    model.requires_grad_(False)
    return model


@pytest.mark.parametrize("lengths", [(1,), (4,), (2, 4), (3, 1, 4)])
def test_log_likelihood_viterbi_and_marginals_match_enumeration(crf, lengths):
    max_length = max(lengths)
    torch.manual_seed(len(lengths))
    emissions = torch.randn(len(lengths), max_length, 3, dtype=torch.float64)
    mask = torch.tensor([[t < n for t in range(max_length)] for n in lengths])
    paths, best_log_probability = crf.viterbi(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    for row, length in enumerate(lengths):
        scores, log_z = brute_force(crf, emissions[row], length)
        assert float(crf.log_partition(emissions[row : row + 1], mask[row : row + 1])[0]) == pytest.approx(log_z)
        best = max(scores, key=scores.get)
        assert tuple(paths[row]) == best
        assert float(best_log_probability[row]) == pytest.approx(scores[best] - log_z)
        some_path = tuple((i * 2 + row) % 3 for i in range(length))
        tags = torch.tensor([list(some_path) + [0] * (max_length - length)])
        log_likelihood = crf.log_likelihood(emissions[row : row + 1], tags, mask[row : row + 1])
        assert float(log_likelihood[0]) == pytest.approx(scores[some_path] - log_z)
        for t in range(length):
            for tag in range(3):
                expected = sum(math.exp(s - log_z) for p, s in scores.items() if p[t] == tag)
                assert float(marginals[row, t, tag]) == pytest.approx(float(expected), abs=1e-9)
        assert torch.all(marginals[row, length:] == 0)


def test_marginals_sum_to_one_on_real_positions(crf):
    emissions = torch.randn(2, 5, 3, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    sums = crf.marginals(emissions, mask).sum(dim=2)
    assert torch.allclose(sums[0], torch.ones(5, dtype=torch.float64))
    assert torch.allclose(sums[1, :2], torch.ones(2, dtype=torch.float64))
