"""The learner, ModelOutputs and the seq2seq strategies wired together, with a stub model
(no torch): what the producers hand to strategies, and that queries come back as pool
positions."""

import numpy as np

from labelwise.data import Seq2SeqDataset
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs


class StubSummarizer:
    """Scores a source by its length: longer sources get less probable summaries."""

    def __init__(self):
        self.generation_calls = 0

    def fit(self, dataset):
        self.n_trained_ = len(dataset)
        return self

    def predict(self, dataset):
        return [s.split()[0] for s in dataset.sources]

    def generate_with_scores(self, dataset, num_beams=None):
        self.generation_calls += 1
        lengths = np.array([len(s.split()) for s in dataset.sources], dtype=np.float32)
        return self.predict(dataset), -0.1 * lengths

    def generate_mc(self, dataset, n_samples=10, random_state=0):
        texts = np.array([[s.split()[t % len(s.split())] for t in range(n_samples)] for s in dataset.sources],
                         dtype=object)
        scores = np.tile(-np.arange(1, len(dataset) + 1, dtype=np.float32)[:, None], (1, n_samples))
        return texts, scores

    def embed(self, dataset):
        return np.array([[len(s), 1.0] for s in dataset.sources], dtype=np.float32)


def _pool():
    sources = [" ".join(["word"] * (i + 1)) + f" w{i}" for i in range(12)]
    return Seq2SeqDataset(sources, [f"subject {i}" for i in range(12)])


def test_nsp_through_the_learner_picks_the_least_probable_unlabeled_sources():
    pool = _pool()
    learner = ActiveLearner(StubSummarizer(), pool.without_labels(), "nsp", random_state=0)
    learner.teach([11, 0], ["subject 11", "subject 0"])
    selection = learner.query(3)
    assert selection.indices.tolist() == [10, 9, 8]  # longest unlabeled sources


def test_generations_and_scores_share_rows_by_pool_position():
    model = StubSummarizer()
    outputs = ModelOutputs(model, _pool().without_labels())
    scores = outputs.get("sequence_scores", [5, 2])
    texts = outputs.get("generations", [2, 5])
    np.testing.assert_allclose(scores, [-0.7, -0.4], atol=1e-6)
    assert texts.tolist() == ["word", "word"]


def test_mc_outputs_are_cached_per_row():
    outputs = ModelOutputs(StubSummarizer(), _pool().without_labels(), options={"mc_samples": 4})
    rows = outputs.get("mc_generations", [3, 7])
    assert rows.shape == (2,) and all(len(row) == 4 for row in rows)
    assert outputs.get("mc_sequence_scores", [3]).shape == (1, 4)
