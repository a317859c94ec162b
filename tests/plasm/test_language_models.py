import numpy as np
import pytest
import torch

from labelwise.data import load_ag_news_sample
from labelwise.models import TfidfLogisticRegression
from labelwise.models.masked_lm import MaskedLanguageModel
from labelwise.plasm.distillation import distill_transformer, kl_to_teacher, train_student
from labelwise.plasm.domain_adaptation import adapt_encoder


@pytest.fixture(scope="module")
def ag_news():
    train, _ = load_ag_news_sample()
    return train


def test_domain_adaptation_lowers_mlm_loss_on_the_pool(tiny_bert, ag_news, tmp_path):
    from transformers import AutoModel

    pool = ag_news.subset(np.arange(48)).without_labels()
    result = adapt_encoder(pool, tmp_path / "adapted", tiny_bert, steps=25, batch_size=8, max_length=32,
                           learning_rate=2e-3, eval_size=32, random_state=0)
    assert result.loss_after < result.loss_before
    assert any("predictions" in name for name in result.new_head)  # the head was created fresh
    encoder = AutoModel.from_pretrained(result.path)
    assert encoder.config.hidden_size == 32


def test_distillation_lowers_the_students_kl_to_the_teacher(tiny_bert, ag_news, tmp_path):
    teacher = TfidfLogisticRegression(max_features=2000, embedding_dim=4).fit(ag_news.subset(np.arange(200)))
    pool = ag_news.subset(np.arange(200, 248)).without_labels()
    result = distill_transformer(teacher, pool, tmp_path / "student", tiny_bert, epochs=4, batch_size=8,
                                 max_length=32, learning_rate=3e-3, temperature=2.0, random_state=0)
    assert result.kl_after < result.kl_before


def test_train_student_on_a_plain_module_with_gold_mixing():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(64, 5)).astype(np.float32)
    teacher = inputs @ rng.normal(size=(5, 3)).astype(np.float32)
    torch.manual_seed(0)
    student = torch.nn.Linear(5, 3)
    with torch.no_grad():
        before = kl_to_teacher(student(torch.as_tensor(inputs)).numpy(), teacher)
    labels = np.full(64, -1)
    labels[:8] = teacher[:8].argmax(1)
    train_student(student, list(inputs), teacher, labels=labels, alpha=0.2, epochs=30, batch_size=16,
                  learning_rate=0.05)
    with torch.no_grad():
        after = kl_to_teacher(student(torch.as_tensor(inputs)).numpy(), teacher)
    assert after < 0.5 * before


def test_surprisal_embeddings_shape_zeros_and_determinism(tiny_bert, ag_news):
    data = ag_news.subset(np.arange(12))
    model = MaskedLanguageModel(tiny_bert, max_length=32, mlm_steps=3, batch_size=4, random_state=0)
    model.prepare(data.without_labels())
    assert len(model.mlm_losses_) == 3
    model.fit(data)
    embeddings = model.surprisal_embeddings(data)
    assert embeddings.shape == (12, 32) and embeddings.dtype == np.float32
    assert (embeddings >= 0).all()
    nonzero = (embeddings > 0).mean()
    assert 0.03 < nonzero < 0.3  # about 15 % of the real tokens
    short = data.with_labels(data.labels).subset([0])
    short = type(short)(("a short text",), None, short.label_names)
    row = model.surprisal_embeddings(short)[0]
    assert not row[6:].any()  # [CLS] a short text [SEP] -> 5 positions, zeros after
    model._surprisal_memo.clear()  # recompute in another order and batching
    again = model.surprisal_embeddings(data.subset(np.arange(12)[::-1]))[::-1]
    np.testing.assert_allclose(again, embeddings, rtol=1e-4, atol=1e-5)
    computed = []
    original = model._compute_surprisal
    model._compute_surprisal = lambda texts: computed.extend(texts) or original(texts)
    extra = type(short)((data.inputs[3], "another new text"), None, short.label_names)
    model.surprisal_embeddings(extra)  # the LM is fixed: only the unseen text is computed
    assert computed == ["another new text"]
    assert model.predict(data).shape == (12,)


class _Saved:
    def save_pretrained(self, path):
        pass


def test_domain_adaptation_holds_out_texts_it_never_trains_on(monkeypatch, tmp_path):
    import labelwise.plasm.domain_adaptation as domain_adaptation
    from labelwise.data import ClassificationDataset

    seen = {"loss": [], "train": []}
    monkeypatch.setattr(domain_adaptation, "load_masked_lm", lambda *a, **k: (_Saved(), _Saved(), []))
    monkeypatch.setattr(domain_adaptation, "masked_lm_loss",
                        lambda model, tokenizer, texts, **k: seen["loss"].append(list(texts)) or 1.0)
    monkeypatch.setattr(domain_adaptation, "train_masked_lm",
                        lambda model, tokenizer, texts, **k: seen["train"].append(list(texts)) or [1.0])
    texts = [f"text number {i}" for i in range(20)]
    pool = ClassificationDataset(texts + texts[:5], None, ("a", "b"))  # duplicates must not leak either
    result = adapt_encoder(pool, tmp_path / "out", "unused", eval_size=6, random_state=3)
    (trained,) = seen["train"]
    held_before, held_after = seen["loss"]
    assert not set(held_before) & set(trained)
    assert held_before == held_after == result.held_out_texts
    assert len(result.held_out_texts) == 6
    assert not set(result.held_out_texts) & set(trained)
    assert set(result.held_out_texts) | set(trained) == set(texts)
    assert result.n_train_texts == len(trained)
    # a real, seeded split: not the first rows, the same for the same seed, other for another
    assert result.held_out_texts != texts[:6]
    again = adapt_encoder(pool, tmp_path / "again", "unused", eval_size=6, random_state=3)
    other = adapt_encoder(pool, tmp_path / "other", "unused", eval_size=6, random_state=4)
    assert again.held_out_texts == result.held_out_texts != other.held_out_texts


def test_domain_adaptation_needs_two_distinct_texts(tmp_path):
    from labelwise.data import ClassificationDataset
    from labelwise.errors import DataError

    with pytest.raises(DataError, match="two"):
        adapt_encoder(ClassificationDataset(["same text"] * 4, None, ("a", "b")), tmp_path, "unused")


def _global_states():
    import random

    return random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state().clone()  # noqa: NPY002


def _same_states(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and torch.equal(a[2], b[2])


def test_distillation_and_adaptation_leave_the_global_generators_alone(tiny_bert, ag_news, tmp_path):
    teacher = TfidfLogisticRegression(max_features=500, embedding_dim=4).fit(ag_news.subset(np.arange(60)))
    pool = ag_news.subset(np.arange(60, 76)).without_labels()
    before = _global_states()
    distill_transformer(teacher, pool, tmp_path / "student", tiny_bert, epochs=1, batch_size=8, max_length=16,
                        random_state=5)
    adapt_encoder(pool, tmp_path / "adapted", tiny_bert, steps=2, batch_size=4, max_length=16, eval_size=4,
                  random_state=5)
    assert _same_states(before, _global_states())


def test_same_seed_same_student_through_the_shared_training_loop():
    rng = np.random.default_rng(1)
    inputs = list(rng.normal(size=(40, 4)).astype(np.float32))
    teacher = rng.normal(size=(40, 3)).astype(np.float32)

    def run(seed):
        with torch.random.fork_rng():
            torch.manual_seed(0)
            student = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 3))
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # dropout draws from the global generator; the shuffle does not
            losses = train_student(student, inputs, teacher, epochs=3, batch_size=8, learning_rate=0.01,
                                   random_state=seed)
        return losses, [p.detach().clone() for p in student.parameters()]

    (losses_a, weights_a), (losses_b, weights_b) = run(7), run(7)
    assert len(losses_a) == 15 and losses_a == losses_b
    assert all(torch.equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))
