"""Token-level pseudo-labels kept by sentence confidence, on constructed probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.errors import ConfigError
from labelwise.plasm import select_token_pseudo_labels, sentence_confidence


def _sentence(top: list[float], n_tags: int = 3, tag: int = 1) -> np.ndarray:
    """Token distributions whose argmax is ``tag`` with probability ``top[t]``."""
    rows = np.zeros((len(top), n_tags))
    for t, p in enumerate(top):
        rows[t, :] = (1.0 - p) / (n_tags - 1)
        rows[t, tag] = p
    return rows


def test_mean_max_keeps_the_most_confident_fraction_with_their_argmax_tags():
    probabilities = [_sentence([0.5, 0.6]), _sentence([0.95, 0.9], tag=2), _sentence([0.4]), _sentence([0.8, 0.99])]
    chosen = select_token_pseudo_labels(probabilities, confidence="mean_max", top_fraction=0.5)
    assert chosen.indices.tolist() == [1, 3]
    assert chosen.tags == ((2, 2), (1, 1))
    np.testing.assert_allclose(chosen.confidence, [0.925, 0.895])


def test_mnlp_normalises_the_path_log_probability_by_length():
    # A long sentence whose every token is sure has a small total probability, yet per
    # token it is the surest: MNLP keeps it, the raw path probability would not.
    long_sure = _sentence([0.9] * 20)
    short_unsure = _sentence([0.6])
    log_probabilities = np.array([20 * np.log(0.9), np.log(0.6)])
    assert log_probabilities[0] < log_probabilities[1]
    chosen = select_token_pseudo_labels([long_sure, short_unsure], path_log_probabilities=log_probabilities,
                                        confidence="mnlp", top_fraction=0.5)
    assert chosen.indices.tolist() == [0]
    np.testing.assert_allclose(sentence_confidence([long_sure, short_unsure], how="mnlp",
                                                   path_log_probabilities=log_probabilities),
                               [np.log(0.9), np.log(0.6)])


def test_given_paths_are_the_pseudo_labels_and_a_threshold_filters():
    probabilities = [_sentence([0.9, 0.9]), _sentence([0.7, 0.7])]
    chosen = select_token_pseudo_labels(probabilities, paths=[[0, 2], [1, 1]], confidence="mean_max",
                                        top_fraction=None, threshold=0.8)
    assert chosen.indices.tolist() == [0] and chosen.tags == ((0, 2),)


def test_bad_options_name_themselves():
    with pytest.raises(ConfigError, match="confidence"):
        select_token_pseudo_labels([_sentence([0.9])], confidence="entropy")
    with pytest.raises(ConfigError, match="pseudo_label_fraction"):
        select_token_pseudo_labels([_sentence([0.9])], top_fraction=1.5)


def test_classification_plasm_points_a_tagging_pool_to_plasm_tagging():
    from labelwise.data import TaggingDataset
    from labelwise.plasm import plasm

    data = TaggingDataset([("a", "b")], [("O", "O")])
    with pytest.raises(ConfigError, match="plasm_tagging"):
        plasm(data, data, lambda: None)


def test_eligible_sentences_fill_the_fraction_most_confident_first():
    # The surest sentences (0 and 2) are not eligible: the two slots of top_fraction=0.5
    # go to the surest eligible ones instead of being lost.
    probabilities = [_sentence([0.99]), _sentence([0.6]), _sentence([0.98]), _sentence([0.7])]
    chosen = select_token_pseudo_labels(probabilities, confidence="mean_max", top_fraction=0.5,
                                        eligible=np.array([False, True, False, True]))
    assert chosen.indices.tolist() == [1, 3]


def test_require_entities_skips_sentences_predicted_all_outside():
    from labelwise.data import TaggingDataset
    from labelwise.plasm import pseudo_label_tagger

    pool = TaggingDataset([("a", "b"), ("Paris",), ("c",), ("Rome", "x")], None, ("O", "B-LOC"))

    class Labeler:  # surest of the all-O sentences, as a weak tagger is
        def best_paths(self, dataset):
            return [("O", "O"), ("B-LOC",), ("O",), ("B-LOC", "O")], np.log([0.99, 0.6, 0.98, 0.5])

        def token_marginals(self, dataset):
            return [np.full((len(s), 2), 0.5) for s in dataset.tokens]

    assert pseudo_label_tagger(Labeler(), pool, top_fraction=0.5).indices.tolist() == [0, 2]
    chosen = pseudo_label_tagger(Labeler(), pool, top_fraction=0.5, require_entities=True)
    assert chosen.indices.tolist() == [1, 3] and chosen.tags == ((1,), (1, 0))
