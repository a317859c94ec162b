"""``labelwise distill`` and ``labelwise adapt``: help, errors naming the option, tiny runs."""

from __future__ import annotations

import json

import pytest

from labelwise.cli.main import build_parser, main


def _conll(path, dataset) -> str:
    lines = []
    for tokens, tags in zip(dataset.tokens, dataset.tags, strict=True):
        lines += [f"{token}\t{tag}" for token, tag in zip(tokens, tags, strict=True)] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_help_describes_both_commands(capsys):
    for command in ("distill", "adapt"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert "--pool" in text and "--output" in text
    assert "distil" in build_parser().format_help() and "adapt" in build_parser().format_help()


@pytest.mark.parametrize(("argv", "option"), [
    (["distill", "--teacher", "{missing}", "--pool", "{pool}", "--output", "{out}"], "--teacher"),
    (["distill", "--teacher", "{missing}", "--pool", "{pool}", "--output", "{out}", "--temperature", "0"],
     "--temperature"),
    (["distill", "--teacher", "{missing}", "--pool", "{pool}", "--output", "{out}", "--epochs", "0"], "--epochs"),
    (["adapt", "--pool", "{missing}", "--output", "{out}"], "--pool"),
    (["adapt", "--pool", "{pool}", "--output", "{out}", "--mlm-probability", "1.5"], "--mlm-probability"),
    (["adapt", "--pool", "{pool}", "--output", "{out}", "--model", "{missing}"], "--model"),
])
def test_errors_name_the_option_and_exit_2(argv, option, tmp_path, sentences, capsys):
    names = {"missing": str(tmp_path / "nope"), "pool": _conll(tmp_path / "pool.conll", sentences),
             "out": str(tmp_path / "out")}
    assert main([part.format(**names) for part in argv]) == 2
    assert option in capsys.readouterr().err


def test_distill_a_tagger_then_adapt_on_its_pool(tmp_path, sentences, teacher, tiny_bert, capsys):
    pool = _conll(tmp_path / "pool.conll", sentences)
    teacher_folder = teacher.save(tmp_path / "teacher")
    assert main(["distill", "--teacher", str(teacher_folder), "--pool", pool, "--output", str(tmp_path / "student"),
                 "--epochs", "2", "--batch-size", "8", "--no-progress"]) == 0
    summary = json.loads((tmp_path / "student" / "summary.json").read_text())
    assert summary["kl_after"] < summary["kl_before"] and summary["n_pool"] == len(sentences)
    from labelwise.models import load_model

    student = load_model(tmp_path / "student" / "model")
    assert student.tag_names_ == teacher.tag_names_
    assert main(["adapt", "--pool", pool, "--output", str(tmp_path / "adapted"), "--model", tiny_bert,
                 "--steps", "2", "--batch-size", "4", "--eval-size", "4", "--no-progress"]) == 0
    adapted = json.loads((tmp_path / "adapted" / "summary.json").read_text())
    assert adapted["steps"] == 2 and adapted["n_held_out"] == 4
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["encoder"] == str(tmp_path / "adapted")


def test_plasm_on_conll_files_runs_the_tagging_pipeline(tmp_path, sentences, teacher, tiny_bert, capsys):
    acquired = _conll(tmp_path / "acquired.conll", sentences.subset(range(8)))
    pool = _conll(tmp_path / "pool.conll", sentences.subset(range(8, 24)))
    assert main(["plasm", "--acquired", acquired, "--pool", pool, "--output", str(tmp_path / "nope")]) == 2
    assert "--successor tfidf" in capsys.readouterr().err  # the default successor cannot tag
    assert main(["plasm", "--acquired", acquired, "--pool", pool, "--output", str(tmp_path / "nope"),
                 "--successor", "minilm", "--acquisition-model", str(tmp_path / "missing")]) == 2
    assert "--acquisition-model" in capsys.readouterr().err
    folder = teacher.save(tmp_path / "acquisition")
    assert main(["plasm", "--acquired", acquired, "--pool", pool, "--output", str(tmp_path / "out"),
                 "--successor", tiny_bert, "--acquisition-model", str(folder), "--epochs", "1",
                 "--pseudo-label-fraction", "0.5", "--tracin-filter-fraction", "0.25"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["n_gold"], summary["n_pseudo"], summary["n_dropped"]) == (8, 8, 2)
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rows] == ["gold"] * 8 + ["pseudo"] * 6
    assert rows[0]["tokens"] == list(sentences.tokens[0]) and rows[0]["tags"] == list(sentences.tags[0])


def test_plasm_require_entities_pseudo_labels_only_sentences_with_a_predicted_entity(tmp_path, sentences, tiny_bert):
    from labelwise.models import BiLSTMCRFTagger

    # Trained long on the pool's own sentences, so it predicts entities in some, not all.
    acquisition = BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=60, learning_rate=1e-2,
                                  random_state=0).fit(sentences)
    predicted = acquisition.predict(sentences.subset(range(8, 24)))
    with_entity = sum(any(tag != "O" for tag in tags) for tags in predicted)
    assert 0 < with_entity < 16
    folder = acquisition.save(tmp_path / "acquisition")
    acquired = _conll(tmp_path / "acquired.conll", sentences.subset(range(8)))
    pool = _conll(tmp_path / "pool.conll", sentences.subset(range(8, 24)))
    assert main(["plasm", "--acquired", acquired, "--pool", pool, "--output", str(tmp_path / "out"),
                 "--successor", tiny_bert, "--acquisition-model", str(folder), "--epochs", "1",
                 "--pseudo-label-fraction", "1.0", "--tracin-filter-fraction", "0", "--require-entities"]) == 0
    pseudo = [json.loads(line) for line in (tmp_path / "out" / "pseudo_labels.jsonl").read_text().splitlines()]
    assert len(pseudo) == with_entity
    assert all(any(tag != "O" for tag in row["tags"]) for row in pseudo)


def test_distill_a_classifier_into_a_transformer(tmp_path, ag_news, tiny_bert):
    from labelwise.models import TfidfLogisticRegression

    train, _ = ag_news
    teacher = TfidfLogisticRegression().fit(train.subset(range(60)))
    folder = teacher.save(tmp_path / "teacher")
    pool = tmp_path / "pool.jsonl"
    pool.write_text("\n".join(json.dumps({"text": t}) for t in train.texts[60:76]) + "\n", encoding="utf-8")
    assert main(["distill", "--teacher", str(folder), "--pool", str(pool), "--output", str(tmp_path / "out"),
                 "--student", tiny_bert, "--epochs", "2", "--max-length", "32", "--learning-rate", "1e-3",
                 "--no-progress"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_pool"] == 16 and summary["kl_after"] < summary["kl_before"]
    assert (tmp_path / "out" / "model" / "config.json").exists()
