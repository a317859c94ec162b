import numpy as np
import pytest
import torch

from labelwise.plasm.tracin import (
    CheckpointOutputs,
    influence_last_layer,
    model_checkpoint_outputs,
    self_influence_full,
    self_influence_last_layer,
)


def _blobs(seed=0, n_per_class=15):
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    features = np.concatenate([c + rng.normal(scale=0.6, size=(n_per_class, 2)) for c in centres])
    labels = np.repeat(np.arange(3), n_per_class)
    return features.astype(np.float32), labels


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(2, 8)
        self.out = torch.nn.Linear(8, 3)

    def features(self, x):
        return torch.tanh(self.hidden(x))

    def forward(self, x):
        return self.out(self.features(x))


def _train_with_checkpoints(features, labels, epochs=30, lr=0.1):
    torch.manual_seed(0)
    net = _Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    x = torch.as_tensor(features)
    y = torch.as_tensor(labels)
    checkpoints = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
        if epoch % 10 == 9:
            checkpoints.append(({k: v.clone() for k, v in net.state_dict().items()}, lr))
    return net, checkpoints


def _last_layer_outputs(net, checkpoints, features):
    outputs = []
    x = torch.as_tensor(features)
    for state, lr in checkpoints:
        net.load_state_dict(state)
        with torch.no_grad():
            h = net.features(x)
            p = torch.softmax(net.out(h), dim=1)
        outputs.append(CheckpointOutputs(h.numpy(), p.numpy(), lr))
    return outputs


def test_mislabeled_example_has_the_highest_self_influence():
    features, labels = _blobs()
    noisy = labels.copy()
    flipped = 4
    noisy[flipped] = 1  # a point of class 0 labelled as class 1
    net, checkpoints = _train_with_checkpoints(features, noisy)
    outputs = _last_layer_outputs(net, checkpoints, features)
    scores = self_influence_last_layer(outputs, noisy)
    assert int(np.argmax(scores)) == flipped
    full = self_influence_full(net, [s for s, _ in checkpoints], [lr for _, lr in checkpoints],
                               torch.as_tensor(features), noisy)
    assert int(np.argmax(full)) == flipped


def test_closed_form_matches_autograd_on_the_last_layer():
    features, labels = _blobs(1, 4)
    net, checkpoints = _train_with_checkpoints(features, labels, epochs=10)
    outputs = _last_layer_outputs(net, checkpoints, features)
    closed = self_influence_last_layer(outputs, labels)
    # autograd over the last layer only: freeze the hidden layer
    for parameter in net.hidden.parameters():
        parameter.requires_grad_(False)
    reference = self_influence_full(net, [s for s, _ in checkpoints], [lr for _, lr in checkpoints],
                                    torch.as_tensor(features), labels)
    np.testing.assert_allclose(closed, reference, rtol=1e-4)


def test_mislabeled_training_row_is_an_opponent_of_its_true_class():
    features, labels = _blobs(2)
    noisy = labels.copy()
    noisy[3] = 2
    net, checkpoints = _train_with_checkpoints(features, noisy)
    test_features = np.array([[3.0, 0.2]], dtype=np.float32)
    train_out = _last_layer_outputs(net, checkpoints, features)
    test_out = _last_layer_outputs(net, checkpoints, test_features)
    influence = influence_last_layer(train_out, noisy, test_out, np.array([0]))[:, 0]
    assert int(np.argmin(influence)) == 3
    assert influence[labels == 0].max() > 0


def test_model_checkpoints_are_loaded_and_final_weights_restored(tmp_path):
    features, labels = _blobs(3, 5)
    net, checkpoints = _train_with_checkpoints(features, labels, epochs=20)
    final = {k: v.clone() for k, v in net.state_dict().items()}
    paths = []
    for number, (state, lr) in enumerate(checkpoints):
        path = tmp_path / f"ckpt{number}.pt"
        torch.save(state, path)
        paths.append({"path": str(path), "learning_rate": lr})

    outputs = model_checkpoint_outputs(_adapter_with(net, paths), features)
    assert len(outputs) == 2
    assert not np.allclose(outputs[0].probabilities, outputs[1].probabilities)
    for key, value in net.state_dict().items():
        assert torch.equal(value, final[key])


def test_labels_out_of_range_are_rejected():
    with pytest.raises(ValueError, match="labels must lie"):
        self_influence_last_layer([CheckpointOutputs(np.ones((2, 3)), np.full((2, 2), 0.5))], np.array([0, 2]))


def _adapter_with(net, records):
    class Adapter:
        module_ = net
        checkpoints_ = records

        def last_layer_features(self, dataset):
            with torch.no_grad():
                return net.features(torch.as_tensor(dataset)).numpy()

        def predict_proba(self, dataset):
            with torch.no_grad():
                return torch.softmax(net(torch.as_tensor(dataset)), 1).numpy()

    return Adapter()


def test_missing_corrupt_or_foreign_checkpoints_raise_data_errors_naming_them(tmp_path):
    from labelwise.errors import ConfigError, DataError

    features, labels = _blobs(3, 2)
    net, _ = _train_with_checkpoints(features, labels, epochs=1)
    missing = tmp_path / "gone.pt"
    with pytest.raises(DataError, match="gone.pt"):
        model_checkpoint_outputs(_adapter_with(net, [{"path": str(missing), "learning_rate": 0.1}]), features)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="corrupt.pt"):
        self_influence_full(net, [corrupt], [0.1], torch.as_tensor(features), labels)
    foreign = {"weight": torch.zeros(3, 3)}
    with pytest.raises(DataError, match="checkpoint 0 does not fit"):
        self_influence_full(net, [foreign], [0.1], torch.as_tensor(features), labels)
    with pytest.raises(ConfigError, match="learning rate"):
        model_checkpoint_outputs(_adapter_with(net, [(net.state_dict(), "fast")]), features)


def test_a_missing_torch_is_a_config_error_naming_the_extra(monkeypatch):
    import sys

    from labelwise.errors import ConfigError
    from labelwise.plasm.distillation import distillation_loss

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torch.nn.functional", None)
    with pytest.raises(ConfigError, match=r"labelwise\[torch\]"):
        self_influence_full(object(), [{}], [0.1], None, np.zeros(1))
    with pytest.raises(ConfigError, match=r"labelwise\[torch\]"):
        distillation_loss(None, None)


def test_plasm_numbers_are_checked_with_config_errors():
    from labelwise.data import ClassificationDataset
    from labelwise.errors import ConfigError
    from labelwise.models import TfidfLogisticRegression
    from labelwise.plasm import plasm, select_pseudo_labels
    from labelwise.plasm.distillation import train_student

    acquired = ClassificationDataset(["a b", "c d"], np.array([0, 1]), ("x", "y"))
    pool = ClassificationDataset(["a c"], None, ("x", "y"))
    with pytest.raises(ConfigError, match="tracin_filter_fraction"):
        plasm(acquired, pool, TfidfLogisticRegression, tracin_filter_fraction="lots")
    with pytest.raises(ConfigError, match="confidence_threshold"):
        select_pseudo_labels(np.full((2, 2), 0.5), confidence_threshold="high")
    with pytest.raises(ConfigError, match="top_fraction"):
        select_pseudo_labels(np.full((2, 2), 0.5), top_fraction="half")
    with pytest.raises(ConfigError, match="alpha"):
        train_student(torch.nn.Linear(2, 2), [np.zeros(2, dtype=np.float32)], np.zeros((1, 2)), alpha="x")
