"""MNLP, sequence LC, token entropy and token BALD on hand-built tagging outputs."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.outputs import ModelOutputs
from labelwise.outputs.tagging import pad_token_rows
from labelwise.strategies import QueryContext, get_strategy


def object_rows(rows):
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = np.asarray(row, dtype=np.float32)
    return array


def select(name, outputs, k, token_counts, **params):
    context = QueryContext.build(len(token_counts), random_state=0, token_counts=np.asarray(token_counts))
    return get_strategy(name, **params).select(outputs, k, context)


def test_mnlp_normalises_by_length_where_lc_does_not():
    # Sentence 0: 10 tokens, path log-prob -2.0 (per token -0.2).
    # Sentence 1: 2 tokens, path log-prob -1.0 (per token -0.5).
    log_probabilities = np.array([-2.0, -1.0, -0.1])
    outputs = ModelOutputs.from_arrays(best_path_log_probability=log_probabilities)
    counts = [10, 2, 5]
    lc = select("sequence_lc", outputs, 3, counts)
    mnlp = select("mnlp", outputs, 3, counts)
    assert lc.indices.tolist() == [0, 1, 2]  # 1 - P: the long sentence is least probable
    assert mnlp.indices.tolist() == [1, 0, 2]  # per token, the short one is least confident
    np.testing.assert_allclose(mnlp.scores, [0.5, 0.2, 0.02])
    np.testing.assert_allclose(lc.scores, 1 - np.exp([-2.0, -1.0, -0.1]))


def test_token_entropy_aggregations_rank_as_defined():
    certain = [1.0, 0.0]
    uniform = [0.5, 0.5]
    rows = object_rows([
        [certain, certain, certain, uniform],  # one very uncertain token among four
        [uniform],                            # a single uncertain token
        [[0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.8, 0.2]],  # many mildly uncertain
    ])
    outputs = ModelOutputs.from_arrays(token_probabilities=rows)
    counts = [4, 1, 6]
    assert select("token_entropy", outputs, 1, counts, aggregation="mean").indices.tolist() == [1]
    assert select("token_entropy", outputs, 1, counts, aggregation="sum").indices.tolist() == [2]
    by_max = select("token_entropy", outputs, 3, counts, aggregation="max")
    assert by_max.scores[0] == pytest.approx(np.log(2)) and by_max.scores[1] == pytest.approx(np.log(2))


def test_token_bald_scores_disagreeing_samples_above_agreeing_uncertainty():
    agreeing = np.tile([[[0.5, 0.5], [0.5, 0.5]]], (4, 1, 1))  # (T, length, tags)
    disagreeing = np.stack([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]] * 2)
    outputs = ModelOutputs.from_arrays(mc_token_probabilities=object_rows([agreeing, disagreeing]))
    selection = select("token_bald", outputs, 2, [2, 2])
    assert selection.indices.tolist() == [1, 0]
    assert selection.scores[0] == pytest.approx(np.log(2), rel=1e-5)
    assert selection.scores[1] == pytest.approx(0.0, abs=1e-6)


def test_pad_token_rows_gives_a_mask_of_real_tokens():
    padded, mask = pad_token_rows([np.ones((2, 3)), np.ones((4, 3))])
    assert padded.shape == (2, 4, 3)
    assert mask.tolist() == [[True, True, False, False], [True, True, True, True]]
    assert padded[0, 2:].sum() == 0


def test_bad_aggregation_is_refused():
    from labelwise.errors import ConfigError

    with pytest.raises(ConfigError, match="aggregation"):
        get_strategy("token_entropy", aggregation="median")
