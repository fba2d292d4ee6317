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
    for key in ("oos_auroc", "threshold", "in_scope_rejection_rate", "per_intent"):
        assert key in result  # the keys of issue 3 stay
    # issue 19: AUROC under its own name and the operating point of the threshold
    assert result["auroc"] == result["oos_auroc"] and 0.0 <= result["auroc"] <= 1.0
    assert result["reject_rate"] == 0.05 and result["threshold_source"] == "reject rate"
    assert result["accuracy"] == 1.0
    assert result["oos_recall"] == 1.0
    text_report = runner.invoke(
        cli, ["eval", "intents", "--model", str(tmp_path / "m"), "--test", str(test)]
    )  # type: ignore[arg-type]
    assert "worst confusions" in text_report.stdout
    assert "rejects 5.0% of held-out in-scope training examples" in text_report.stdout


def test_cli_eval_json_reject_rate_is_none_when_oos_examples_set_the_threshold(
    cli: object, model_with_oos: IntentClassifier, tmp_path: Path
) -> None:
    model_with_oos.save(tmp_path / "m")
    test = _write_csv(
        tmp_path / "test.csv",
        ["text", "label"],
        [["where is my order", "track_order"], ["tell me a joke please", "oos"]],
    )
    evaluated = CliRunner().invoke(  # type: ignore[arg-type]
        cli, ["eval", "intents", "--model", str(tmp_path / "m"), "--test", str(test), "--json"]
    )
    result = json.loads(evaluated.stdout)
    assert result["reject_rate"] is None and result["threshold_source"] == "oos examples"
    assert "auroc" in result


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


# -- out-of-scope calibration (issue 19) -----------------------------------------------------


def _synthetic(
    rng: np.random.Generator, centres: np.ndarray, per_class: int, spread: float = 0.35
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts and encode_pooled-like features (two L2-normalised halves) around `centres`."""
    labels = np.repeat(np.arange(len(centres)), per_class)
    halves = []
    for half in range(2):
        noisy = centres[labels, half] + spread * rng.standard_normal((len(labels), 384))
        halves.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    features = np.concatenate(halves, axis=1).astype(np.float32)
    words = ["order", "parcel", "refund", "login", "invoice", "plan", "card", "delivery"]
    texts = [
        " ".join(rng.choice(words, 4)) + f" {label} {i}" for i, label in enumerate(labels.tolist())
    ]
    return texts, features, labels


def test_synthetic_end_to_end_threshold_comes_from_held_out_training_examples() -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((12, 2, 384))
    texts, features, y = _synthetic(rng, centres[:8], 40)
    model = IntentClassifier().fit(texts, [f"intent_{i}" for i in y], features=features)
    assert model.scope is not None and model.settings.reject_rate == 0.05
    test_texts, test_features, test_y = _synthetic(rng, centres, 25)
    result = model.scores(test_texts, test_features)
    known = test_y < 8
    rejected_in_scope = float(result.out_of_scope[known].mean())
    # The threshold was set to reject 5% of held-out in-scope training examples; new in-scope
    # messages are rejected at about that rate.
    assert 0.0 < rejected_in_scope < 0.15
    assert float(result.out_of_scope[~known].mean()) > 0.9  # unseen intents are rejected
    assert auroc(~known, 1.0 - result.in_scope.astype(np.float64)) > 0.97
    top = np.array(model.top_intents(result))[known]
    assert np.mean(top == np.array([f"intent_{i}" for i in test_y[known]])) > 0.95


def test_reject_rate_moves_the_threshold() -> None:
    from warmline.understanding.intents import Settings

    rng = np.random.default_rng(4)
    texts, features, y = _synthetic(rng, rng.standard_normal((5, 2, 384)), 30)
    labels = [f"intent_{i}" for i in y]
    strict = IntentClassifier(Settings(reject_rate=0.2)).fit(texts, labels, features=features)
    lenient = IntentClassifier(Settings(reject_rate=0.01)).fit(texts, labels, features=features)
    assert strict.threshold > lenient.threshold


def test_format_1_models_still_load_and_predict(model: IntentClassifier, tmp_path: Path) -> None:
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    meta["format"] = 1
    meta.pop("scope")
    meta["settings"].pop("reject_rate")
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    old = IntentClassifier.load(tmp_path)
    assert old.scope is None
    assert old.predict("where is my order").intent == "track_order"


def test_cli_default_reject_rate_is_the_classifier_default() -> None:
    from warmline.cli.intents import DEFAULT_REJECT_RATE
    from warmline.understanding.intents import Settings

    assert Settings().reject_rate == DEFAULT_REJECT_RATE


# -- bad training data (issue 19) -------------------------------------------------------------


def _train(cli: object, path: Path, out: Path) -> object:
    return CliRunner().invoke(cli, ["train", "intents", "--data", str(path), "--out", str(out)])  # type: ignore[arg-type]


def test_cli_one_example_for_an_intent_trains_and_names_the_row(
    cli: object, tmp_path: Path
) -> None:
    texts, labels = _rows(TRAIN)
    rows = [[t, y] for t, y in zip(texts, labels, strict=True)] + [["hello there", "greet"]]
    path = _write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    result = _train(cli, path, tmp_path / "m")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert f"row {len(rows) + 1}: label 'greet' has only this one example" in result.stderr  # type: ignore[attr-defined]
    assert "greet" in IntentClassifier.load(tmp_path / "m").intents


def test_too_many_intents_is_refused_naming_the_row(cli: object, tmp_path: Path) -> None:
    rows = [[f"question number {i}", f"intent_{i}"] for i in range(5000)]
    path = _write_csv(tmp_path / "many.csv", ["text", "label"], rows)
    result = _train(cli, path, tmp_path / "m")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "5000 intents: at most 1000" in result.stderr  # type: ignore[attr-defined]
    assert "example 1001" in result.stderr and "'intent_1000'" in result.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "m").exists()


def test_conflicting_duplicates_are_left_out_and_named(cli: object, tmp_path: Path) -> None:
    texts, labels = _rows(TRAIN)
    rows = [[t, y] for t, y in zip(texts, labels, strict=True)]
    rows += [["Where is my order", "refund"], ["where is my order", "track_order"]]
    path = _write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    examples = load_examples(path)
    conflict = [w for w in examples.warnings if "different labels" in w]
    n = len(texts)
    assert conflict == [
        f"{path}: rows 2, {n + 2}, {n + 3}: the same text with different labels "
        "(refund, track_order); left out of training"
    ]
    result = _train(cli, path, tmp_path / "m")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "the same text with different labels" in result.stderr  # type: ignore[attr-defined]
    model = IntentClassifier.load(tmp_path / "m")
    assert model.info["examples"] == n - 1
    # The library drops them too, when called directly.
    direct = IntentClassifier().fit([r[0] for r in rows], [r[1] for r in rows])
    assert direct.info["conflicting_examples_left_out"] == 3


def test_only_conflicting_examples_is_refused() -> None:
    with pytest.raises(IntentDataError, match="after leaving out texts with conflicting labels"):
        IntentClassifier().fit(["hi", "hi", "bye"], ["a", "b", "c"])


def test_labels_with_spaces_and_non_ascii_round_trip(cli: object, tmp_path: Path) -> None:
    names = {
        "track_order": "suivi de commande",
        "reset_password": "réinitialiser mot de passe",
        "cancel": "解約",
        "refund": "Rückerstattung 💶",
    }
    texts, labels = _rows(TRAIN)
    rows = [[t, names[y]] for t, y in zip(texts, labels, strict=True)]
    path = _write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    result = _train(cli, path, tmp_path / "m")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    model = IntentClassifier.load(tmp_path / "m")
    assert sorted(model.intents) == sorted(names.values())
    assert model.predict("where is my parcel").intent == "suivi de commande"
    test = _write_csv(
        tmp_path / "test.csv", ["text", "label"], [["please refund me", "Rückerstattung 💶"]]
    )
    evaluated = CliRunner().invoke(  # type: ignore[arg-type]
        cli, ["eval", "intents", "--model", str(tmp_path / "m"), "--test", str(test), "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "Rückerstattung 💶" in json.loads(evaluated.stdout)["per_intent"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "missing column 'text'"),
        ("header.csv", "text,label\n", "no examples"),
        ("empty.yaml", "", "expected a mapping of intents"),
    ],
)
def test_empty_training_file_is_refused(
    cli: object, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = _train(cli, path, tmp_path / "m")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert message in result.stderr  # type: ignore[attr-defined]
    assert str(path) in result.stderr  # type: ignore[attr-defined]


def test_yaml_conflicting_examples_are_named(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(
        "intents:\n  a:\n    examples: [one thing, two]\n  b:\n    examples: [three, One  thing]\n",
        encoding="utf-8",
    )
    warnings = [w for w in load_examples(path).warnings if "different intents" in w]
    assert warnings == [
        f"{path}: 'a' example 1, 'b' example 2: the same text under different intents; "
        "left out of training"
    ]
