import numpy as np
import pytest

from labelwise.data import ClassificationDataset, load_ag_news_sample
from labelwise.errors import CapabilityError
from labelwise.models import TfidfLogisticRegression
from labelwise.plasm import plasm, select_pseudo_labels, tracin_self_influence


def _split():
    train, _ = load_ag_news_sample()
    acquired = train.subset(np.arange(0, 80))
    pool = train.subset(np.arange(80, 280))
    return acquired, pool


def test_plasm_keeps_every_gold_label_unchanged_and_drops_what_tracin_flags():
    acquired, pool = _split()
    result = plasm(acquired, pool, lambda: TfidfLogisticRegression(max_features=2000, embedding_dim=4),
                   pseudo_label_fraction=0.5, tracin_filter_fraction=0.2, random_state=0)
    assert result.n_gold == len(acquired)
    assert result.dataset.texts[: len(acquired)] == acquired.texts
    assert np.array_equal(result.dataset.labels[: len(acquired)], acquired.labels)
    n_pseudo = len(result.pseudo_indices)
    assert len(result.dropped_indices) == round(0.2 * n_pseudo)
    assert len(result.dataset) == len(acquired) + n_pseudo - len(result.dropped_indices)
    assert not np.intersect1d(result.dropped_indices, result.kept_indices).size
    # the dropped pseudo-labels are exactly those of highest self-influence
    dropped_mask = np.isin(result.pseudo_indices, result.dropped_indices)
    assert result.self_influence[dropped_mask].min() >= result.self_influence[~dropped_mask].max()
    # the pseudo rows in the output are the kept pool rows with their pseudo-labels
    tail = result.dataset.subset(np.arange(len(acquired), len(result.dataset)))
    assert tail.texts == tuple(pool.texts[i] for i in result.kept_indices)
    assert result.model.is_fitted
    assert {"train_gold", "pseudo_label", "tracin", "train_final"} <= set(result.timings)


def test_plasm_ignores_labels_in_the_pool():
    acquired, pool = _split()
    scrambled = pool.with_labels(np.zeros(len(pool), dtype=np.int64))
    a = plasm(acquired, pool, lambda: TfidfLogisticRegression(max_features=2000, embedding_dim=4),
              tracin_filter_fraction=0.1, random_state=1)
    b = plasm(acquired, scrambled, lambda: TfidfLogisticRegression(max_features=2000, embedding_dim=4),
              tracin_filter_fraction=0.1, random_state=1)
    assert np.array_equal(a.dataset.labels, b.dataset.labels)


def test_successor_without_last_layer_features_fails_clearly():
    acquired, pool = _split()

    class ProbaOnly:
        def fit(self, dataset):
            self.inner_ = TfidfLogisticRegression(max_features=500, embedding_dim=2).fit(dataset)
            return self

        def predict_proba(self, dataset):
            return self.inner_.predict_proba(dataset)

    with pytest.raises(CapabilityError, match="last_layer_features"):
        plasm(acquired, pool, ProbaOnly, tracin_filter_fraction=0.1)
    # without TracIn filtering any probabilistic model works
    result = plasm(acquired, pool, ProbaOnly, tracin_filter_fraction=0.0)
    assert len(result.dropped_indices) == 0


def test_pseudo_label_selection_per_class_fraction_and_threshold():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8], [0.45, 0.55]], dtype=np.float32)
    chosen = select_pseudo_labels(probabilities, top_fraction=0.5)
    # class 0 has 3 rows -> 2 kept (0.9, 0.7); class 1 has 2 rows -> 1 kept (0.8)
    assert chosen.indices.tolist() == [0, 2, 3]
    assert chosen.labels.tolist() == [0, 0, 1]
    thresholded = select_pseudo_labels(probabilities, confidence_threshold=0.65)
    assert thresholded.indices.tolist() == [0, 2, 3]
    both = select_pseudo_labels(probabilities, confidence_threshold=0.85, top_fraction=1.0)
    assert both.indices.tolist() == [0]


def test_mislabeled_gold_pseudo_label_is_dropped_first():
    # A pool row whose text matches one class but sits far from the decision boundary
    # gets a confident pseudo-label; a row that looks like neither gets a low-confidence
    # one and the largest gradient: TracIn drops it first.
    texts = ["goal match team win"] * 6 + ["stock market shares profit"] * 6
    acquired = ClassificationDataset(texts, np.array([0] * 6 + [1] * 6), ("sport", "business"))
    pool = ClassificationDataset(["team win goal", "market profit shares", "team profit"], None,
                                 ("sport", "business"))
    result = plasm(acquired, pool, lambda: TfidfLogisticRegression(max_features=100, embedding_dim=2),
                   pseudo_label_fraction=None, tracin_filter_fraction=0.34, random_state=0)
    assert result.dropped_indices.tolist() == [2]


@pytest.mark.slow
def test_plasm_with_a_transformer_successor_uses_its_checkpoints(tiny_bert, tmp_path):
    from labelwise.models import TransformerClassifier
    from labelwise.plasm.tracin import model_checkpoint_outputs

    train, _ = load_ag_news_sample()
    acquired, pool = train.subset(np.arange(24)), train.subset(np.arange(24, 48))

    def successor():
        return TransformerClassifier(tiny_bert, max_length=32, batch_size=8, epochs=2, learning_rate=1e-3,
                                     checkpoint_dir=tmp_path / "ckpt", progress=False)

    result = plasm(acquired, pool, successor, pseudo_label_fraction=1.0, tracin_filter_fraction=0.25,
                   random_state=0)
    assert np.array_equal(result.dataset.labels[: len(acquired)], acquired.labels)
    assert len(result.dropped_indices) == 6
    assert len(result.model.checkpoints_) == 2
    outputs = model_checkpoint_outputs(result.model, pool)
    assert [round(o.learning_rate, 12) > 0 for o in outputs] == [True, True]


def test_tracin_scores_pseudo_labels_under_a_successor_trained_on_them():
    # "bank loan credit win win" is a business text whose only word the gold data knows is
    # "win": the gold-only model labels it sport with confidence 0.68, more than it gives
    # the ambiguous "team market" (about 0.5). A gold-only TracIn (a confidence filter)
    # drops "team market"; trained on the pseudo-labels, the successor learns that
    # bank/loan/credit mean business (8 pseudo-labelled rows), cannot fit the sport label
    # of row 16, and TracIn drops that row, as in PLASM (Tsvigun et al. 2022).
    texts = ["goal match team win"] * 6 + ["stock market shares profit"] * 6
    acquired = ClassificationDataset(texts, np.array([0] * 6 + [1] * 6), ("sport", "business"))
    pool = ClassificationDataset(["bank loan credit market"] * 8 + ["cup final cup team"] * 8
                                 + ["bank loan credit win win", "team market"], None, ("sport", "business"))
    result = plasm(acquired, pool, lambda: TfidfLogisticRegression(max_features=200, embedding_dim=2),
                   pseudo_label_fraction=None, tracin_filter_fraction=0.06, random_state=0)
    gold_probabilities = result.gold_model.predict_proba(pool)
    assert result.pseudo_labels[16] == 0  # mislabeled: sport
    assert gold_probabilities[16].max() > gold_probabilities[17].max() + 0.1  # gold model is sure of it
    assert result.dropped_indices.tolist() == [16]
    # the influence comes from the successor trained on gold + every pseudo-label
    expected = tracin_self_influence(result.tracin_model, pool.subset(result.pseudo_indices), result.pseudo_labels)
    assert np.allclose(result.self_influence, expected)
