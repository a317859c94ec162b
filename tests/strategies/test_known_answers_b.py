"""Known answers for ALPS, DAL, AcTune, Mahalanobis, SEALS, multi-label uncertainty and
the small-text / modAL compatibility layer, on hand-built arrays."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from labelwise.data import ClassificationDataset
from labelwise.errors import CapabilityError, SelectionError
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs, model_can_produce
from labelwise.strategies import QueryContext, get_strategy
from labelwise.strategies.compat import ModALQueryFunction, SmallTextStrategy, as_small_text
from labelwise.strategies.hybrid import AcTune
from labelwise.strategies.seals import SEALS, knn_union


def blobs(centres, per_blob, spread=0.05, seed=0):
    """Points around each centre, blob after blob; returns (points (n, d), blob id (n,))."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float32)
    points = np.concatenate([c + spread * rng.standard_normal((per_blob, len(c))) for c in centres])
    return points.astype(np.float32), np.repeat(np.arange(len(centres)), per_blob)


def context(n_pool, labeled=(), seed=0, **extra):
    return QueryContext.build(n_pool, labeled, random_state=seed, **extra)


# ---- ALPS ---------------------------------------------------------------------------------
def test_alps_picks_one_row_per_surprisal_cluster_without_labels():
    # Three directions of surprisal; scale differs within a cluster, which L2 normalisation removes.
    directions = np.eye(6, dtype=np.float32)[[0, 2, 4]]
    vectors, cluster = blobs(directions, 8, spread=0.03)
    vectors *= np.random.default_rng(1).uniform(0.5, 5.0, size=(len(vectors), 1)).astype(np.float32)
    outputs = ModelOutputs.from_arrays(surprisal_embeddings=vectors)
    selection = get_strategy("alps").select(outputs, 3, context(len(vectors)))
    assert sorted(cluster[selection.indices].tolist()) == [0, 1, 2]
    assert get_strategy("alps").cold_start


def test_alps_fills_to_exactly_k_unique_rows_when_points_repeat():
    vectors = np.repeat(np.eye(3, dtype=np.float32), [6, 1, 1], axis=0)  # 6 copies of one point
    outputs = ModelOutputs.from_arrays(surprisal_embeddings=vectors)
    selection = get_strategy("alps").select(outputs, 5, context(len(vectors)))
    assert len(selection.indices) == 5 == len(set(selection.indices.tolist()))
    assert {6, 7} <= set(selection.indices.tolist())  # the two singleton clusters are covered


def test_alps_needs_surprisal_embeddings():
    outputs = ModelOutputs.from_arrays(probabilities=np.full((4, 2), 0.5, dtype=np.float32))
    with pytest.raises(CapabilityError, match="surprisal_embeddings"):
        get_strategy("alps").select(outputs, 2, context(4))


class FakeSurprisalModel:
    """Texts are row numbers; surprisal vectors lie in 3 clusters; probabilities are fixed."""

    def __init__(self, surprisal, probabilities):
        self.surprisal = surprisal
        self.probabilities = probabilities
        self.fitted_on = []

    def _rows(self, dataset):
        return np.array([int(t) for t in dataset.texts])

    def surprisal_embeddings(self, dataset):
        return self.surprisal[self._rows(dataset)]

    def fit(self, dataset):
        self.fitted_on.append(self._rows(dataset).tolist())
        self.classes_ = np.arange(2)
        return self

    def predict_proba(self, dataset):
        return self.probabilities[self._rows(dataset)]

    def predict(self, dataset):
        return self.predict_proba(dataset).argmax(axis=1)


def numbered_pool(n, n_classes=2):
    return ClassificationDataset(tuple(str(i) for i in range(n)), None, tuple(f"c{i}" for i in range(n_classes)))


def test_cold_start_learner_runs_alps_then_least_confidence():
    surprisal, cluster = blobs(np.eye(4, dtype=np.float32)[:3], 6, spread=0.02)
    probabilities = np.tile(np.array([[0.95, 0.05]], dtype=np.float32), (18, 1))
    probabilities[:, 0] = np.linspace(0.95, 0.6, 18)  # confidence falls with the position
    probabilities[:, 1] = 1.0 - probabilities[:, 0]
    model = FakeSurprisalModel(surprisal, probabilities)
    assert model_can_produce(model, "surprisal_embeddings")
    learner = ActiveLearner(model, numbered_pool(18), {0: "alps", 1: "least_confidence"}, random_state=0)
    first = learner.query(3)
    assert learner.history[0].strategy == "alps"
    assert sorted(cluster[first.indices].tolist()) == [0, 1, 2]
    learner.teach(first.indices, [0, 1, 0])
    assert model.fitted_on == [first.indices.tolist()]
    second = learner.query(1)
    assert learner.history[1].strategy == "least_confidence"
    least_confident = max(set(range(18)) - set(first.indices.tolist()))
    assert second.indices.tolist() == [least_confident]


# ---- DAL ----------------------------------------------------------------------------------
@pytest.mark.parametrize("classifier", ["logistic", "mlp"])
def test_dal_prefers_rows_unlike_the_labeled_set(classifier):
    vectors, blob = blobs([[0, 0, 0], [4, 4, 4]], 20, spread=0.3)
    labeled = np.arange(8)  # from blob 0 only
    unlike = np.flatnonzero(blob == 1)[:4]
    vectors = np.concatenate([vectors[:20], vectors[unlike]])  # 20 like the labels, 4 unlike
    blob = np.r_[np.zeros(20, dtype=int), np.ones(4, dtype=int)]
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    selection = get_strategy("dal", sub_rounds=1, classifier=classifier).select(outputs, 4, context(len(vectors), labeled))
    assert (blob[selection.indices] == 1).all()


def test_dal_sub_rounds_spread_the_batch_and_run_without_labels():
    vectors, blob = blobs([[0, 0], [5, 0], [0, 5]], 10, spread=0.2)
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    selection = get_strategy("dal", sub_rounds=3).select(outputs, 3, context(len(vectors)))
    assert len(set(selection.indices.tolist())) == 3
    # Each sub-round moves its pick to the labeled side, so the next goes to another blob.
    assert sorted(blob[selection.indices].tolist()) == [0, 1, 2]


# ---- AcTune -------------------------------------------------------------------------------
def actune_arrays():
    vectors, region = blobs([[1, 0, 0], [0, 1, 0]], 10, spread=0.02)
    probabilities = np.empty((20, 3), dtype=np.float32)
    probabilities[:10] = [0.40, 0.35, 0.25]      # region 0: uncertain
    probabilities[10:] = [0.05, 0.93, 0.02]      # region 1: confident, class 1
    probabilities[3] = [0.34, 0.33, 0.33]        # the most uncertain row
    probabilities[15] = [0.10, 0.80, 0.10]       # region 1 but below the 0.9 threshold
    probabilities[12] = [0.96, 0.02, 0.02]       # region 1, confident in class 0
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities), region


@pytest.mark.parametrize("base", ["entropy", "least_confidence"])
def test_actune_sends_the_uncertain_region_to_annotation(base):
    outputs, region = actune_arrays()
    selection = AcTune(base=base, n_regions=2).select(outputs, 4, context(20))
    assert (region[selection.indices] == 0).all()
    assert selection.indices[0] == 3


def test_actune_widens_to_the_next_region_when_the_uncertain_one_is_too_small():
    outputs, region = actune_arrays()
    selection = AcTune(n_regions=2).select(outputs, 12, context(20))
    assert (region[selection.indices] == 0).sum() == 10


def test_actune_pseudo_labels_only_confident_rows_of_certain_regions_with_argmax():
    outputs, region = actune_arrays()
    positions, labels, weights = AcTune(n_regions=2).pseudo_labels(outputs, context(20))
    assert (region[positions] == 1).all()
    assert 15 not in positions  # below the confidence threshold
    assert set(positions.tolist()) == set(range(10, 20)) - {15}
    probabilities = outputs.get("probabilities", positions)
    assert labels.tolist() == probabilities.argmax(axis=1).tolist()
    assert labels[positions.tolist().index(12)] == 0
    np.testing.assert_allclose(weights, probabilities.max(axis=1))
    excluded, _, _ = AcTune(n_regions=2).pseudo_labels(outputs, context(20), exclude=[10, 11])
    assert not {10, 11} & set(excluded.tolist())


class WeightedFit(FakeSurprisalModel):
    def fit(self, dataset, sample_weight=None):
        self.fitted_on.append((self._rows(dataset).tolist(), np.asarray(dataset.labels).tolist(),
                               None if sample_weight is None else np.asarray(sample_weight).tolist()))
        self.classes_ = np.arange(2)
        return self


def test_learner_trains_on_pseudo_labels_with_weights_and_gold_labels_win():
    probabilities = np.tile(np.array([[0.6, 0.4]], dtype=np.float32), (10, 1))
    model = WeightedFit(np.zeros((10, 2), dtype=np.float32), probabilities)
    learner = ActiveLearner(model, numbered_pool(10), "least_confidence", random_state=0)
    learner.teach([0, 1], [0, 1])
    assert model.fitted_on[-1] == ([0, 1], [0, 1], None)  # unchanged without pseudo-labels
    learner.teach_pseudo([5, 6], [1, 0], [0.9, 0.7], retrain=True)
    assert model.fitted_on[-1] == ([0, 1, 5, 6], [0, 1, 1, 0], [1.0, 1.0, 0.9, 0.7])
    assert sorted(learner.labeled_indices.tolist()) == [0, 1]
    assert 5 in learner.unlabeled_indices
    learner.teach([5], [0])  # gold label replaces the pseudo-label
    assert learner.pseudo_indices.tolist() == [6]
    assert model.fitted_on[-1] == ([0, 1, 5, 6], [0, 1, 0, 0], [1.0, 1.0, 1.0, 0.7])
    learner.clear_pseudo()
    learner.fit()
    assert model.fitted_on[-1] == ([0, 1, 5], [0, 1, 0], None)


class FakeEmbeddingModel(WeightedFit):
    def __init__(self, embeddings, probabilities):
        super().__init__(np.zeros((len(embeddings), 1), dtype=np.float32), probabilities)
        self.embeddings = embeddings

    def embed(self, dataset):
        return self.embeddings[self._rows(dataset)]


def test_learner_self_trains_with_actune_on_the_confident_region_only():
    outputs, region = actune_arrays()
    model = FakeEmbeddingModel(outputs.get("embeddings"), outputs.get("probabilities"))
    learner = ActiveLearner(model, numbered_pool(20, n_classes=3), ("actune", {"n_regions": 2}), random_state=0)
    learner.teach([0, 19], [0, 1])
    queried = learner.query(2)
    assert (region[queried.indices] == 0).all()
    positions, labels, weights = learner.self_train()
    assert len(positions) and (region[positions] == 1).all() and 19 not in positions
    rows, taught, sample_weight = model.fitted_on[-1]
    assert rows == [0, 19, *positions.tolist()]
    assert taught == [0, 1, *labels.tolist()]
    assert sample_weight[2:] == weights.tolist()


def test_learner_pseudo_labels_reach_a_model_without_sample_weight():
    model = FakeSurprisalModel(np.zeros((6, 2), dtype=np.float32), np.full((6, 2), 0.5, dtype=np.float32))
    assert "sample_weight" not in inspect.signature(model.fit).parameters
    learner = ActiveLearner(model, numbered_pool(6), "least_confidence", random_state=0)
    learner.teach([0], [1])
    learner.teach_pseudo([3], [0], [0.5], retrain=True)
    assert model.fitted_on[-1] == [0, 3]


# ---- Mahalanobis ----------------------------------------------------------------------------
def gaussian_labeled(seed=0):
    rng = np.random.default_rng(seed)
    # Anisotropic within-class scatter: wide along x, narrow along y.
    scale = np.array([3.0, 0.1], dtype=np.float32)
    class0 = np.array([0.0, 0.0]) + scale * rng.standard_normal((15, 2))
    class1 = np.array([0.0, 2.0]) + scale * rng.standard_normal((15, 2))
    return np.concatenate([class0, class1]).astype(np.float32), np.r_[np.zeros(15), np.ones(15)].astype(np.int64)


def test_mahalanobis_ranks_an_out_of_distribution_embedding_above_in_class_ones():
    labeled, labels = gaussian_labeled()
    candidates = np.array([[0.5, 0.02], [-1.0, 1.98], [0.0, 1.0], [40.0, 30.0]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(embeddings=np.concatenate([labeled, candidates]))
    ctx = context(34, np.arange(30), labels=labels, n_classes=2)
    selection = get_strategy("mahalanobis").select(outputs, 4, ctx)
    assert selection.indices[0] == 33  # far from everything
    assert selection.indices[1] == 32  # between the classes, off the narrow axis
    assert np.isfinite(selection.scores).all()


def test_mahalanobis_uses_the_shared_covariance_not_euclidean_distance():
    labeled, labels = gaussian_labeled()
    # 30: 4 units out along the wide axis (typical); 31: 1.5 out along the narrow axis
    # (atypical). Euclidean distance would pick 30.
    candidates = np.array([[4.0, 0.0], [0.0, -1.5]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(embeddings=np.concatenate([labeled, candidates]))
    ctx = context(32, np.arange(30), labels=labels, n_classes=2)
    assert get_strategy("mahalanobis").select(outputs, 1, ctx).indices.tolist() == [31]


def test_mahalanobis_refuses_to_run_before_any_label():
    outputs = ModelOutputs.from_arrays(embeddings=np.zeros((5, 2), dtype=np.float32))
    with pytest.raises(SelectionError, match="needs labeled examples; use a cold-start strategy first"):
        get_strategy("mahalanobis").select(outputs, 1, context(5))


def test_mahalanobis_copes_with_one_label_per_class_in_many_dimensions():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((12, 50)).astype(np.float32)
    vectors[11] *= 20.0
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    ctx = context(12, [0, 1], labels=np.array([0, 1]), n_classes=2)
    selection = get_strategy("mahalanobis").select(outputs, 3, ctx)
    assert selection.indices[0] == 11 and np.isfinite(selection.scores).all()


# ---- SEALS --------------------------------------------------------------------------------
def seals_arrays():
    vectors, blob = blobs([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 12, spread=0.1, seed=3)
    rng = np.random.default_rng(4)
    probabilities = rng.dirichlet(np.ones(3), size=len(vectors)).astype(np.float32)
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities), vectors, blob


def test_seals_only_returns_neighbours_of_labeled_rows():
    outputs, vectors, blob = seals_arrays()
    labeled = [0, 1]  # blob 0
    ctx = context(len(vectors), labeled)
    selection = SEALS(base="entropy", n_neighbors=5).select(outputs, 4, ctx)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    candidates = ctx.candidate_indices
    similarity = unit[labeled] @ unit[candidates].T
    neighbours = set(candidates[np.argsort(-similarity, axis=1)[:, :5]].ravel().tolist())
    assert set(selection.indices.tolist()) <= neighbours
    assert (blob[selection.indices] == 0).all()


def test_seals_equals_its_base_when_the_neighbourhood_covers_the_pool():
    outputs, vectors, _ = seals_arrays()
    for base in ("entropy", "random"):
        filtered = SEALS(base=base, n_neighbors=len(vectors)).select(outputs, 5, context(len(vectors), [0, 20], seed=7))
        direct = get_strategy(base).select(outputs, 5, context(len(vectors), [0, 20], seed=7))
        assert filtered.indices.tolist() == direct.indices.tolist()
        np.testing.assert_array_equal(filtered.scores, direct.scores)


def test_seals_widens_the_neighbourhood_until_k_candidates():
    outputs, vectors, _ = seals_arrays()
    selection = SEALS(n_neighbors=1).select(outputs, 6, context(len(vectors), [0]))
    assert len(set(selection.indices.tolist())) == 6


def test_knn_union_is_exact():
    rng = np.random.default_rng(0)
    database = rng.standard_normal((40, 4)).astype(np.float32)
    queries = rng.standard_normal((7, 4)).astype(np.float32)
    expected = set(np.argsort(-(queries @ database.T), axis=1)[:, :3].ravel().tolist())
    assert set(knn_union(queries, database, 3, block_rows=2).tolist()) == expected


# ---- multi-label uncertainty ------------------------------------------------------------
@pytest.mark.parametrize("name", ["least_confidence", "entropy", "breaking_ties"])
def test_uncertainty_ranks_multi_label_rows_by_closeness_to_the_decision_boundary(name):
    probabilities = np.array(
        [[0.99, 0.01, 0.98, 0.02],   # sure of every label
         [0.50, 0.45, 0.55, 0.50],   # every label undecided
         [0.90, 0.10, 0.60, 0.05]],  # one label fairly open
        dtype=np.float32,
    )
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    selection = get_strategy(name).select(outputs, 3, context(3))
    assert selection.indices.tolist() == [1, 2, 0]


# ---- compatibility ------------------------------------------------------------------------
class FakeSmallTextDataset:
    def __init__(self, rows):
        self.rows = np.asarray(rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, indices):
        return FakeSmallTextDataset(self.rows[indices])


class FakeSmallTextClassifier:
    """predict_proba/embed read fixed tables by the row ids the dataset holds."""

    def __init__(self, probabilities, embeddings):
        self.probabilities = probabilities
        self.embeddings = embeddings

    def predict_proba(self, dataset):
        return self.probabilities[dataset.rows]

    def embed(self, dataset, return_proba=False, **kwargs):
        vectors = self.embeddings[dataset.rows]
        return (vectors, self.predict_proba(dataset)) if return_proba else vectors


class FakeSmallTextLeastConfidence:
    """A small-text style strategy: scores the whole dataset, masks the labeled rows."""

    def query(self, clf, dataset, indices_unlabeled, indices_labeled, y, n=10):
        confidence = clf.predict_proba(dataset).max(axis=1)
        confidence[indices_labeled] = np.inf
        order = np.argsort(confidence[indices_unlabeled], kind="stable")[:n]
        return np.asarray(indices_unlabeled)[order]


@pytest.mark.parametrize("name", ["entropy", "seals", "actune", "random"])
def test_a_labelwise_strategy_through_as_small_text_picks_as_directly(name):
    outputs, vectors, _ = seals_arrays()
    clf = FakeSmallTextClassifier(outputs.get("probabilities"), vectors)
    dataset = FakeSmallTextDataset(np.arange(len(vectors)))
    labeled = np.array([0, 13, 30])
    unlabeled = np.setdiff1d(np.arange(len(vectors)), labeled)
    adapter = as_small_text(name, random_state=5)
    picked = adapter.query(clf, dataset, unlabeled, labeled, np.array([0, 1, 2]), n=4)
    direct = get_strategy(name).select(outputs, 4, context(len(vectors), labeled, seed=5, labels=np.array([0, 1, 2])))
    assert picked.tolist() == direct.indices.tolist()


def test_a_small_text_strategy_runs_inside_the_active_learner():
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[4, 9]] = [[0.6, 0.4], [0.52, 0.48]]
    model = FakeSurprisalModel(np.zeros((12, 2), dtype=np.float32), probabilities)
    learner = ActiveLearner(model, numbered_pool(12), SmallTextStrategy(FakeSmallTextLeastConfidence()),
                            random_state=0)
    learner.teach([0, 1], [0, 1])
    selection = learner.query(2)
    assert selection.indices.tolist() == [9, 4]
    assert learner.history[-1].strategy == "small_text"


def test_a_small_text_strategy_returning_a_labeled_row_is_rejected():
    class Bad:
        def query(self, clf, dataset, indices_unlabeled, indices_labeled, y, n=10):
            return np.asarray(indices_labeled)[:n]

    outputs = ModelOutputs.from_arrays(probabilities=np.full((6, 2), 0.5, dtype=np.float32))
    with pytest.raises(SelectionError, match="not an unlabeled candidate"):
        SmallTextStrategy(Bad()).select(outputs, 1, context(6, [2]))


def modal_margin_sampling(classifier, X_pool, n_instances=1, random_tie_break=True):
    """modAL's shape: returns (indices, instances); ties broken by np.random."""
    probabilities = classifier.predict_proba(X_pool)
    part = np.sort(probabilities, axis=1)
    margin = part[:, -1] - part[:, -2]
    if random_tie_break:
        margin = margin + 1e-9 * np.random.random(len(margin))  # noqa: NPY002  (modAL style)
    indices = np.argsort(margin)[:n_instances]
    return indices, X_pool[indices]


def test_a_modal_query_function_runs_inside_the_active_learner_reproducibly():
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[3, 7, 8]] = [[0.5, 0.5], [0.7, 0.3], [0.55, 0.45]]

    def run(seed):
        model = FakeSurprisalModel(np.zeros((12, 2), dtype=np.float32), probabilities)
        learner = ActiveLearner(model, numbered_pool(12), ModALQueryFunction(modal_margin_sampling),
                                random_state=seed)
        learner.teach([0, 1], [0, 1])  # two classes: one class keeps the learner on its cold start
        return learner.query(3).indices.tolist()

    assert run(1) == [3, 8, 7] == run(1)


def test_a_modal_function_reading_features_gets_candidate_embeddings():
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    probabilities = np.full((6, 2), 0.5, dtype=np.float32)

    def farthest_from_origin(classifier, X_pool, n_instances=1):
        assert classifier.predict_proba(X_pool[:2]).shape == (2, 2)
        return np.argsort(-np.linalg.norm(X_pool, axis=1))[:n_instances]

    outputs = ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities)
    strategy = ModALQueryFunction(farthest_from_origin, pool="embeddings")
    assert strategy.select(outputs, 2, context(6, [5])).indices.tolist() == [4, 3]


def test_real_small_text_strategy_if_installed():
    small_text = pytest.importorskip("small_text")
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[4, 9]] = [[0.6, 0.4], [0.52, 0.48]]
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    strategy = SmallTextStrategy(small_text.LeastConfidence())
    selection = strategy.select(outputs, 2, context(12, [0, 1], labels=np.array([0, 1])))
    assert set(selection.indices.tolist()) == {4, 9}


# ---- the registry contract, on this module's strategies ------------------------------------
MINE = ["alps", "dal", "actune", "mahalanobis", "seals"]


def all_outputs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return ModelOutputs.from_arrays(
        embeddings=rng.standard_normal((n, 5)).astype(np.float32),
        surprisal_embeddings=rng.random((n, 8)).astype(np.float32),
        probabilities=rng.dirichlet(np.ones(3), size=n).astype(np.float32),
    )


def contract_context(seed, candidates=None):
    labeled = np.array([0, 4, 9, 17])
    return QueryContext.build(30, labeled, candidate_indices=candidates, random_state=seed,
                              labels=np.array([0, 1, 2, 1]), n_classes=3)


@pytest.mark.parametrize("name", MINE)
@pytest.mark.parametrize("k", [1, 5, 26])
def test_contract_k_unique_candidates_finite_scores_reproducible(name, k):
    outputs = all_outputs()
    first = get_strategy(name).select(outputs, k, contract_context(3))
    again = get_strategy(name).select(outputs, k, contract_context(3))
    ctx = contract_context(3)
    assert len(first.indices) == k == len(set(first.indices.tolist()))
    assert np.isin(first.indices, ctx.candidate_indices).all()
    assert np.isfinite(first.scores).all() and np.isfinite(first.candidate_scores).all()
    assert first.indices.tolist() == again.indices.tolist()
    np.testing.assert_array_equal(first.scores, again.scores)


@pytest.mark.parametrize("name", MINE)
def test_contract_respects_subsampled_candidates(name):
    candidates = np.array([1, 2, 3, 5, 8, 13, 21, 22, 25])
    selection = get_strategy(name).select(all_outputs(), 4, contract_context(1, candidates))
    assert np.isin(selection.indices, candidates).all()


@pytest.mark.parametrize("name", MINE)
def test_contract_bad_k_and_missing_outputs_fail_before_work(name):
    with pytest.raises(SelectionError):
        get_strategy(name).select(all_outputs(), 0, contract_context(0))
    with pytest.raises(SelectionError):
        get_strategy(name).select(all_outputs(), 27, contract_context(0))
    empty = ModelOutputs.from_arrays(other=np.zeros((30, 1)))
    with pytest.raises(CapabilityError):
        get_strategy(name).select(empty, 2, contract_context(0))


def test_as_small_text_inside_a_real_small_text_learner_matches_its_own_least_confidence():
    small_text = pytest.importorskip("small_text")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.standard_normal((60, 4))
    gold = (features[:, 0] > 0).astype(int)
    train = small_text.SklearnDataset(features, gold, target_labels=np.arange(2))
    factory = small_text.SklearnClassifierFactory(LogisticRegression(), 2)
    picks = []
    for strategy in (as_small_text("least_confidence"), small_text.LeastConfidence()):
        learner = small_text.PoolBasedActiveLearner(factory, strategy, train)
        learner.initialize_data(np.array([0, 1, 2, 3]), gold[[0, 1, 2, 3]])
        picks.append(sorted(learner.query(num_samples=5).tolist()))
    assert picks[0] == picks[1]


@pytest.mark.parametrize("shape", [(5, 8), (40, 3), (30, 30)])
def test_ledoit_wolf_matches_scikit_learn(shape):
    from sklearn.covariance import LedoitWolf

    from labelwise.strategies.density import ledoit_wolf

    rng = np.random.default_rng(shape[0])
    rows = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, size=shape[1])
    reference = LedoitWolf(assume_centered=True).fit(rows)
    covariance, shrinkage = ledoit_wolf(rows)
    assert shrinkage == pytest.approx(reference.shrinkage_)
    np.testing.assert_allclose(covariance, reference.covariance_, rtol=1e-10, atol=1e-12)
