import json

import numpy as np

from labelwise.cli.main import main
from labelwise.data import load_ag_news_sample


def test_cli_plasm_writes_gold_and_cleaned_pseudo_labels(tmp_path):
    train, _ = load_ag_news_sample()
    acquired = tmp_path / "acquired.jsonl"
    pool = tmp_path / "pool.jsonl"
    with open(acquired, "w") as handle:
        for i in range(60):
            handle.write(json.dumps({"text": train.texts[i], "label": train.label_names[train.labels[i]]}) + "\n")
    with open(pool, "w") as handle:
        for i in range(60, 160):
            handle.write(json.dumps({"text": train.texts[i]}) + "\n")
    out = tmp_path / "out"
    assert main(["plasm", "--acquired", str(acquired), "--pool", str(pool), "--successor", "tfidf",
                 "--output", str(out), "--tracin-filter-fraction", "0.2"]) == 0
    rows = [json.loads(line) for line in open(out / "train.jsonl")]
    gold = [r for r in rows if r["source"] == "gold"]
    assert [r["label"] for r in gold] == [train.label_names[train.labels[i]] for i in range(60)]
    pseudo = [json.loads(line) for line in open(out / "pseudo_labels.jsonl")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_dropped"] == sum(p["dropped"] for p in pseudo) == round(0.2 * len(pseudo))
    assert len(rows) == 60 + len(pseudo) - summary["n_dropped"]
    kept = [p["self_influence"] for p in pseudo if not p["dropped"]]
    dropped = [p["self_influence"] for p in pseudo if p["dropped"]]
    assert np.min(dropped) >= np.max(kept)
    assert (out / "model").is_dir() or (out / "model.joblib").exists()  # model.save() where it has one
