"""The intent branch (issue 19): encoder layers fine-tuned on a trained model's intents, stored
with the model and computed in the same encoder pass as the emotion branch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from test_intents import TRAIN, _rows, _write_csv
from warmline.understanding import finetune
from warmline.understanding.branch import Branch
from warmline.understanding.encoder import DIM, Encoder, get_encoder
from warmline.understanding.intents import IntentClassifier, Settings
from warmline.understanding.intents.classifier import BRANCH_FILE

pytestmark = pytest.mark.xdist_group("intent_branch")

# Small enough to fine-tune in a few seconds: every example counts, a handful of steps.
QUICK = Settings(finetune=True, branch_min_examples=10, branch_epochs=4.0, branch_max_steps=8)
PARAPHRASES = {
    "my parcel is missing": "track_order",
    "forgot my login password": "reset_password",
    "end my subscription": "cancel",
    "give me my money back": "refund",
}


@pytest.fixture(scope="module")
def cli() -> object:
    from warmline.cli import _register_commands
    from warmline.cli.app import app

    _register_commands()
    return app


@pytest.fixture(scope="module")
def branched() -> IntentClassifier:
    texts, labels = _rows(TRAIN)
    return IntentClassifier(QUICK).fit(texts, labels)


def test_training_fine_tunes_a_branch_that_joins_the_features(branched: IntentClassifier) -> None:
    assert branched.branch is not None and branched.branch.start == QUICK.branch_start
    info = branched.info["branch"]
    assert info["finetuned"] is True and info["digest"] == branched.branch.digest
    assert branched.feature_width == 3 * DIM
    assert branched.weights.shape[0] == sum(b.size for b in branched.blocks) + 3 * DIM
    original = get_encoder()
    name = f"encoder.layer.{QUICK.branch_start}.attention.self.query.weight"
    tuned = branched.branch.weights[name]
    assert tuned.shape == (DIM, DIM)
    assert original.branch is None or original.branch.digest != branched.branch.digest
    for text, intent in PARAPHRASES.items():
        assert branched.predict(text).intent == intent


def test_one_encoder_pass_serves_the_branch(branched: IntentClassifier) -> None:
    encoder = branched.encoder
    assert encoder is get_encoder()  # the process-wide encoder now computes it
    assert encoder.intent_branch is not None
    assert encoder.intent_branch.digest == branched.branch.digest  # type: ignore[union-attr]
    features = encoder.encode_intent_features(["where is my order"])
    assert features.shape == (1, 3 * DIM)
    norms = np.linalg.norm(features.reshape(3, DIM), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    # The branch's embedding is its own view, not a copy of the sentence embedding.
    assert float(features[0, :DIM] @ features[0, 2 * DIM :]) < 0.9999
    # The emotion branch's output is the same with or without the intent branch beside it.
    plain = Encoder(cache_size=0)
    text = ["I am so angry about my refund"]
    assert np.allclose(plain.encode_branch(text), encoder.encode_branch(text), atol=1e-6)


def test_onnx_and_numpy_agree_on_the_intent_branch(branched: IntentClassifier) -> None:
    texts = ["where is my order", "refund me now!!", "hello"]
    fast = Encoder(cache_size=0, branch=None, intent_branch=branched.branch)
    exact = Encoder(cache_size=0, branch=None, intent_branch=branched.branch, backend="numpy")
    a = fast.encode_intent_features_uncached(texts)[:, 2 * DIM :]
    b = exact.encode_intent_features_uncached(texts)[:, 2 * DIM :]
    assert (a * b).sum(axis=1).min() > 0.98


def test_save_and_load_keep_the_branch(branched: IntentClassifier, tmp_path: Path) -> None:
    branched.save(tmp_path)
    assert (tmp_path / BRANCH_FILE).is_file()
    meta = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert meta["format"] == 3 and meta["branch"]["digest"] == branched.branch.digest  # type: ignore[union-attr]
    loaded = IntentClassifier.load(tmp_path)
    assert loaded.branch is not None and loaded.branch.digest == branched.branch.digest  # type: ignore[union-attr]
    texts = [*PARAPHRASES, "what is the weather tomorrow"]
    for a, b in zip(branched.predict_many(texts), loaded.predict_many(texts), strict=True):
        assert a.intent == b.intent and a.out_of_scope == b.out_of_scope
        assert a.confidence == pytest.approx(b.confidence, abs=5e-3)


def test_a_swapped_branch_file_is_refused(branched: IntentClassifier, tmp_path: Path) -> None:
    branched.save(tmp_path)
    other = Branch.from_weights(
        branched.branch.start,  # type: ignore[union-attr]
        {k: v * 1.01 for k, v in branched.branch.weights.items()},  # type: ignore[union-attr]
    )
    other.save(tmp_path / BRANCH_FILE)
    with pytest.raises(ValueError, match="not the branch this model was trained with"):
        IntentClassifier.load(tmp_path)
    (tmp_path / BRANCH_FILE).unlink()
    with pytest.raises(ValueError, match="cannot read the encoder branch"):
        IntentClassifier.load(tmp_path)


def test_retraining_without_a_branch_removes_the_old_file(
    branched: IntentClassifier, tmp_path: Path
) -> None:
    branched.save(tmp_path)
    texts, labels = _rows(TRAIN)
    plain = IntentClassifier(Settings(finetune=False)).fit(texts, labels)
    plain.save(tmp_path)
    assert not (tmp_path / BRANCH_FILE).exists()
    assert IntentClassifier.load(tmp_path).branch is None


def test_few_examples_train_without_a_branch() -> None:
    texts, labels = _rows(TRAIN)
    model = IntentClassifier(Settings(finetune=True)).fit(texts, labels)  # minimum 1,000
    assert model.branch is None and model.feature_width == 2 * DIM
    assert model.info["branch"] == {"finetuned": False, "reason": "32 examples, fewer than 1000"}
    default = IntentClassifier().fit(texts, labels)  # opt-in
    assert default.info["branch"] == {"finetuned": False, "reason": "switched off"}


def test_without_pytorch_training_goes_on_without_a_branch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> None:
        raise finetune.TorchUnavailableError("fine-tuning an encoder branch needs PyTorch")

    monkeypatch.setattr(finetune, "_torch", missing)
    texts, labels = _rows(TRAIN)
    model = IntentClassifier(QUICK).fit(texts, labels)
    assert model.branch is None
    assert model.info["branch"] == {"finetuned": False, "reason": "PyTorch is not installed"}
    assert "training without an intent branch" in caplog.text
    assert model.predict("my parcel is missing").intent == "track_order"


def test_cli_says_whether_a_branch_was_trained(cli: object, tmp_path: Path) -> None:
    texts, labels = _rows(TRAIN)
    data = _write_csv(
        tmp_path / "train.csv",
        ["text", "label"],
        [[t, y] for t, y in zip(texts, labels, strict=True)],
    )
    runner = CliRunner()
    for flags, expected in (
        (["--finetune"], "no intent branch (32 examples, fewer than 1000)"),
        (["--no-finetune"], "no intent branch (switched off)"),
        ([], "no intent branch (switched off)"),
    ):
        result = runner.invoke(  # type: ignore[arg-type]
            cli, ["train", "intents", "--data", str(data), "--out", str(tmp_path / "m"), *flags]
        )
        assert result.exit_code == 0, result.output
        assert expected in result.stderr
