"""Intent classifier: training, calibration, out-of-scope, persistence, bad data, CLI, pack."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from warmline.understanding.intents import (
    DEFAULT_MODEL_DIR,
    DEFAULT_PACK,
    IntentClassifier,
    IntentDataError,
    load_default_classifier,
    load_examples,
)
from warmline.understanding.intents.default import pack_digest
from warmline.understanding.intents.metrics import auroc, evaluate, expected_calibration_error
from warmline.understanding.intents.text import char_grams, word_grams

TRAIN = {
    "track_order": [
        "where is my order",
        "my parcel has not arrived",
        "when will my package be delivered",
        "track my delivery please",
        "the courier never came with my order",
        "order still not here after two weeks",
        "has my shipment left the warehouse",
        "I need the tracking number for my parcel",
    ],
    "reset_password": [
        "I forgot my password",
        "can't log in to my account",
        "reset my password please",
        "the password reset link does not work",
        "locked out of my account",
        "login keeps failing with wrong password",
        "how do I change my password",
        "I never got the reset email",
    ],
    "cancel": [
        "cancel my subscription",
        "I want to end my membership",
        "stop my plan from renewing",
        "how do I cancel my contract",
        "please terminate my account subscription",
        "I don't want to be billed next month, cancel it",
        "unsubscribe me from the premium plan",
        "close my subscription today",
    ],
    "refund": [
        "I want my money back",
        "refund my purchase",
        "how long does a refund take",
        "I returned the item but got no refund",
        "can I get a refund for the broken product",
        "where is my refund",
        "please reimburse me for the faulty item",
        "you still owe me a refund",
    ],
}
OOS = [
    "what is the weather tomorrow",
    "tell me a joke",
    "who won the football game",
    "recipe for chocolate cake",
    "what is the capital of Italy",
    "play some music for me",
]
HOSTILE = [
    "",
    "    ",
    "x" * 100_000,
    "😡😡😡",
    "我的订单在哪里",
    "\x00\x01\x1b[2J",
    "Где мой заказ",
]


def _rows(data: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    texts = [text for examples in data.values() for text in examples]
    labels = [label for label, examples in data.items() for _ in examples]
    return texts, labels


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def model() -> IntentClassifier:
    texts, labels = _rows(TRAIN)
    return IntentClassifier().fit(texts, labels)


@pytest.fixture(scope="module")
def model_with_oos() -> IntentClassifier:
    texts, labels = _rows({**TRAIN, "oos": OOS})
    return IntentClassifier().fit(texts, labels)


# -- features --------------------------------------------------------------------------------


def test_analysers_mirror_sklearn_conventions() -> None:
    assert word_grams("Where is my  ORDER?") == [
        "where",
        "is",
        "my",
        "order",
        "where is",
        "is my",
        "my order",
    ]
    assert char_grams("ab")[:3] == [" a", "ab", "b "]
    assert " a " in char_grams("a")


# -- predictions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my package still hasn't shown up", "track_order"),
        ("I can't remember my password", "reset_password"),
        ("please cancel my membership now", "cancel"),
        ("I'd like a refund for this", "refund"),
    ],
)
def test_predicts_unseen_paraphrases(model: IntentClassifier, text: str, intent: str) -> None:
    prediction = model.predict(text)
    assert prediction.intent == intent
    assert not prediction.out_of_scope
    assert 0.0 < prediction.confidence <= 1.0


def test_alternatives_are_the_ranked_runners_up(model: IntentClassifier) -> None:
    prediction = model.predict("where is my refund for the order")
    names = [name for name, _ in prediction.alternatives]
    probabilities = [p for _, p in prediction.alternatives]
    assert len(names) == 3
    assert prediction.intent not in names
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(p <= prediction.confidence for p in probabilities)


def test_out_of_scope_without_oos_examples(model: IntentClassifier) -> None:
    for text in ["what's the capital of Australia", "how do I bake sourdough bread"]:
        prediction = model.predict(text)
        assert prediction.out_of_scope, text
        assert prediction.intent == "oos"
        assert prediction.confidence < 0.5


def test_oos_examples_become_a_class_and_are_used(model_with_oos: IntentClassifier) -> None:
    assert "oos" in model_with_oos.classes
    assert "oos" not in model_with_oos.intents
    assert model_with_oos.predict("tell me a funny joke please").out_of_scope
    assert model_with_oos.predict("my parcel never arrived").intent == "track_order"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_a_defined_out_of_scope_result(model: IntentClassifier, text: str) -> None:
    prediction = model.predict(text)
    assert prediction.out_of_scope
    assert prediction.intent == "oos"
    assert 0.0 <= prediction.confidence < 0.5


def test_predict_many_matches_predict(model: IntentClassifier) -> None:
    texts = ["cancel my plan", "", "where is my parcel", "refund please"]
    assert model.predict_many(texts) == [model.predict(text) for text in texts]


def test_save_and_load_round_trip(model: IntentClassifier, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["arrays.npz", "model.json"]
    loaded = IntentClassifier.load(tmp_path / "m")
    texts = ["cancel my plan", "I forgot my password", "what is the weather", "refund me"]
    for a, b in zip(model.predict_many(texts), loaded.predict_many(texts), strict=True):
        assert a.intent == b.intent and a.out_of_scope == b.out_of_scope
        assert a.confidence == pytest.approx(b.confidence, abs=2e-3)  # weights stored as float16
    assert loaded.threshold == model.threshold and loaded.temperature == model.temperature


def test_load_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.json"):
        IntentClassifier.load(tmp_path)


def test_training_needs_two_intents() -> None:
    with pytest.raises(IntentDataError, match="at least 2 intents"):
        IntentClassifier().fit(["a b c", "d e f"], ["same", "same"])


def test_one_example_per_label_trains_with_a_warning(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "tiny.csv",
        ["text", "intent"],
        [["where is my order", "track"], ["cancel my plan", "cancel"], ["hello there", "greet"]],
    )
    examples = load_examples(path)
    assert len(examples.warnings) == 3
    assert "row 2" in examples.warnings[0] and "'track'" in examples.warnings[0]
    model = IntentClassifier().fit(examples.texts, examples.labels)
    assert model.predict("where is my order").intent == "track"


# -- data loading ----------------------------------------------------------------------------


def test_csv_missing_label_column_is_named(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "bad.csv", ["text", "topic"], [["hi", "greet"]])
    with pytest.raises(IntentDataError, match="label column"):
        load_examples(path)


def test_csv_missing_text_column_is_named(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "bad.csv", ["message", "label"], [["hi", "greet"]])
    with pytest.raises(IntentDataError, match="'text'"):
        load_examples(path)


def test_csv_empty_label_names_the_row(tmp_path: Path) -> None:
    rows = [["where is my order", "track"], ["cancel it", ""], ["hi", "greet"]]
    path = _write_csv(tmp_path / "bad.csv", ["text", "category"], rows)
    with pytest.raises(IntentDataError, match="row 3: empty label"):
        load_examples(path)


def test_csv_empty_text_names_the_row(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "bad.csv", ["text", "label"], [["ok", "a"], ["  ", "b"]])
    with pytest.raises(IntentDataError, match="row 3: empty text"):
        load_examples(path)


def test_yaml_pack_loads(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(
        "intents:\n  a:\n    description: x\n    examples: [one, two]\n"
        "  b:\n    examples: [three, four]\n",
        encoding="utf-8",
    )
    examples = load_examples(path)
    assert examples.labels == ["a", "a", "b", "b"]


# -- metrics ---------------------------------------------------------------------------------


def test_auroc_and_ece_on_known_cases() -> None:
    positive = np.array([True, True, False, False])
    assert auroc(positive, np.array([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert auroc(positive, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    confident = np.array([0.9] * 10)
    assert expected_calibration_error(confident, np.array([True] * 9 + [False])) == pytest.approx(
        0.0
    )
    assert expected_calibration_error(confident, np.array([False] * 10)) == pytest.approx(0.9)


def test_evaluate_follows_larson_definitions() -> None:
    gold = ["a", "a", "b", "oos", "oos"]
    predicted = ["a", "oos", "b", "oos", "b"]
    top = ["a", "a", "b", "b", "b"]
    result = evaluate(gold, predicted, [0.9, 0.4, 0.8, 0.3, 0.6], [0.1, 0.7, 0.2, 0.9, 0.4], top)
    assert result["accuracy"] == 1.0  # top intents of the in-scope examples
    assert result["in_scope_accuracy"] == pytest.approx(2 / 3)  # the rejection counts as wrong
    assert result["oos_recall"] == 0.5
    assert result["oos_precision"] == 0.5
    assert result["worst_confusions"][0]["count"] == 1


# -- command line ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli() -> object:
    from warmline.cli import _register_commands
    from warmline.cli.app import app

    _register_commands()
    return app


def test_cli_train_and_eval_json(cli: object, tmp_path: Path) -> None:
    texts, labels = _rows(TRAIN)
    train = _write_csv(
        tmp_path / "train.csv",
        ["text", "label"],
        [[t, y] for t, y in zip(texts, labels, strict=True)],
    )
    test_rows = [
        ["my parcel is missing", "track_order"],
        ["forgot my login password", "reset_password"],
        ["end my subscription", "cancel"],
        ["give me my money back", "refund"],
        ["what is the tallest mountain on earth", "oos"],
    ]
    test = _write_csv(tmp_path / "test.csv", ["text", "label"], test_rows)
    runner = CliRunner()
    trained = runner.invoke(
        cli, ["train", "intents", "--data", str(train), "--out", str(tmp_path / "m")]
    )  # type: ignore[arg-type]
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(  # type: ignore[arg-type]
        cli, ["eval", "intents", "--model", str(tmp_path / "m"), "--test", str(test), "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.stdout)
    for key in ("accuracy", "in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1", "ece"):
        assert key in result
    assert result["accuracy"] == 1.0
    assert result["oos_recall"] == 1.0
    text_report = runner.invoke(
        cli, ["eval", "intents", "--model", str(tmp_path / "m"), "--test", str(test)]
    )  # type: ignore[arg-type]
    assert "worst confusions" in text_report.stdout


def test_cli_bad_csv_exits_2_naming_the_row(cli: object, tmp_path: Path) -> None:
    bad = _write_csv(tmp_path / "bad.csv", ["text", "label"], [["hello", "greet"], ["bye", ""]])
    result = CliRunner().invoke(
        cli, ["train", "intents", "--data", str(bad), "--out", str(tmp_path / "m")]
    )  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert "row 3" in result.stderr


# -- the shipped default pack ----------------------------------------------------------------

PACK_PHRASINGS = {
    "order_status": [
        "hey where the hell is my parcel, ordered 10 days ago",
        "any news on when my stuff ships?",
    ],
    "return_refund": [
        "I'd like to send back the dress I bought",
        "still waiting for the money for my return",
    ],
    "billing_invoice": ["can you email me last month's invoice", "why did you charge me two times"],
    "payment_failed": ["my visa got rejected at checkout", "the payment keeps failing when I pay"],
    "password_reset": ["cant log in, forgot pw", "the reset password email never shows up"],
    "account_details": ["please change my home address", "I got a new email address, update it"],
    "cancel_subscription": ["I want to stop paying for premium", "please end my membership"],
    "appointment": [
        "need to move my appointment to thursday",
        "can I book a visit for next monday",
    ],
    "plan_usage": ["how much data is left on my plan", "how many minutes do I have left"],
    "activation": ["my new sim card is not working", "how do I activate the esim"],
    "warranty": ["is my hoover still under guarantee", "is my model part of the recall"],
    "complaint": ["your service is absolutely appalling", "I wish to make a formal complaint"],
    "human_agent": ["let me talk to a real human", "can I speak to an actual person"],
    "greeting": ["good morning!", "hello there 🙂"],
    "thanks": ["thanks so much!", "cheers, that helped"],
    "goodbye": ["bye now", "ok that's all, goodbye"],
}


def test_default_pack_has_the_agreed_intents() -> None:
    model = load_default_classifier()
    assert sorted(model.intents) == sorted(PACK_PHRASINGS)


def test_shipped_model_was_built_from_the_current_pack() -> None:
    model = IntentClassifier.load(DEFAULT_MODEL_DIR)
    assert model.info.get("pack_sha256") == pack_digest(DEFAULT_PACK), "run `warmline models build`"


@pytest.mark.parametrize(
    ("intent", "text"),
    [(intent, text) for intent, texts in PACK_PHRASINGS.items() for text in texts],
)
def test_default_pack_understands_new_phrasings(intent: str, text: str) -> None:
    prediction = load_default_classifier().predict(text)
    assert (prediction.intent, prediction.out_of_scope) == (intent, False)


@pytest.mark.parametrize(
    "text", ["what's the capital of France", "write me a poem about the sea", "who won the match"]
)
def test_default_pack_rejects_off_topic_messages(text: str) -> None:
    assert load_default_classifier().predict(text).out_of_scope


def test_analyze_contract_fields(cli: object) -> None:
    lines = '{"id": "a", "text": "where is my parcel?"}\n{"text": ""}\n'
    result = CliRunner().invoke(cli, ["analyze", "-"], input=lines)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["a", 2]
    assert records[0]["intent"] == "order_status" and records[0]["out_of_scope"] is False
    assert records[1]["out_of_scope"] is True
    for key in (
        "confidence",
        "frustration",
        "urgency",
        "distress",
        "emotions",
        "signals",
        "entities",
    ):
        assert key in records[0]


def test_threshold_with_oos_examples_maximises_accuracy_plus_recall() -> None:
    from warmline.understanding.intents.classifier import _best_threshold

    in_domain = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    correct = np.array([True, True, True, False])
    oos = np.array([0.65, 0.5, 0.4], dtype=np.float32)
    caught = np.array([False, False, False])
    # 0.7 keeps the three correct examples and rejects all three oos examples.
    assert _best_threshold(in_domain, correct, oos, caught) == pytest.approx(0.7)
