"""`warmline train emotion` and `warmline eval emotion` (see docs/emotion.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from warmline.cli.app import eval_app, train_app
from warmline.cli.jsonl import fail, progress_bar, stage_progress


def default_goemotions_dir() -> Path:
    """../shared/data/goemotions from the working directory, or under $WARMLINE_SHARED_DATA."""
    shared = os.environ.get("WARMLINE_SHARED_DATA")
    if shared:
        return Path(shared) / "goemotions"
    return Path.cwd().parent / "shared" / "data" / "goemotions"


@train_app.command("emotion")
def train_emotion(
    data: Path | None = typer.Option(
        None, "--data", help="GoEmotions folder (original/ and ekman/); default ../shared/data."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write emotion.npz/.json; default: the package weights."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice (reproducible)."),
    cache: Path | None = typer.Option(
        None, "--cache", help="Folder caching the branch embeddings of the training texts."
    ),
    branch: str = typer.Option(
        "finetune",
        "--branch",
        help="finetune: fine-tune the encoder's emotion branch (needs PyTorch, about 20 min); "
        "shipped: reuse the package's branch and fit only the heads.",
    ),
) -> None:
    """Fine-tune the emotion branch and train the heads on GoEmotions; write the weights."""
    from warmline.understanding.emotion.model import WEIGHTS_DIR
    from warmline.understanding.emotion.training import TrainingDataError, train
    from warmline.understanding.finetune import TorchUnavailableError

    if branch not in ("finetune", "shipped"):
        raise fail("--branch must be finetune or shipped")
    data_dir = data if data is not None else default_goemotions_dir()
    out_dir = out if out is not None else WEIGHTS_DIR
    if not (data_dir / "original" / "train.tsv").is_file():
        raise fail(f"{data_dir}: no GoEmotions data (expected original/train.tsv)")
    with stage_progress() as progress:
        try:
            report = train(
                data_dir,
                out_dir,
                seed=seed,
                cache_dir=cache,
                echo=_echo,
                progress=progress,
                branch=branch,
            )
        except TrainingDataError as error:
            raise fail(str(error)) from None
        except TorchUnavailableError as error:
            raise fail(f"{error} (or reuse the shipped branch with --branch shipped)") from None
    typer.echo(json.dumps(report, indent=2))


def default_shared_data_dir() -> Path:
    """../shared/data from the working directory, or $WARMLINE_SHARED_DATA."""
    shared = os.environ.get("WARMLINE_SHARED_DATA")
    return Path(shared) if shared else Path.cwd().parent / "shared" / "data"


@train_app.command("frustration")
def train_frustration(
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Folder holding twitter_sentiment/, tweet_emotion/, review_sentences/ and "
        "banking77/; default ../shared/data.",
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="Emotion weights whose encoder branch the head reads; default: shipped.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write frustration.json; default: the package weights."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice (reproducible)."),
    cache: Path | None = typer.Option(
        None, "--cache", help="Folder caching the embeddings of the training texts."
    ),
) -> None:
    """Train the customer head of `frustration` and calibrate it (docs/emotion.md)."""
    from warmline.understanding.emotion.customer import CustomerDataError
    from warmline.understanding.emotion.customer import train_frustration as train
    from warmline.understanding.emotion.model import WEIGHTS_DIR, EmotionModel
    from warmline.understanding.emotion.training import default_cache_dir

    data_dir = data if data is not None else default_shared_data_dir()
    model_dir = model if model is not None else WEIGHTS_DIR
    out_dir = out if out is not None else model_dir
    if not (data_dir / "twitter_sentiment" / "train.csv").is_file():
        raise fail(f"{data_dir}: no customer data (expected twitter_sentiment/train.csv)")
    try:
        emotion_model = EmotionModel.load(model_dir, with_customer=False)
    except (OSError, ValueError, KeyError) as error:
        raise fail(f"{model_dir}: not an emotion model ({error})") from None
    with stage_progress() as progress:
        try:
            report = train(
                data_dir,
                out_dir,
                model=emotion_model,
                seed=seed,
                cache_dir=cache if cache is not None else default_cache_dir(),
                echo=_echo,
                progress=progress,
            )
        except CustomerDataError as error:
            raise fail(str(error)) from None
    typer.echo(json.dumps(report, indent=2))


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@eval_app.command("emotion")
def eval_emotion(
    data: Path = typer.Option(..., "--data", help="GoEmotions TSV or a text,label CSV/TSV."),
    model: Path | None = typer.Option(None, "--model", help="Weights folder; default: shipped."),
    labels: str = typer.Option(
        "auto", "--labels", help="For GoEmotions TSV: go (28), ekman (7) or auto (labels.txt)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Macro-F1 and per-label precision/recall/F1 of the emotion model on a labelled file."""
    from warmline.understanding.emotion.evaluation import EvalDataError, evaluate, load_eval_file
    from warmline.understanding.emotion.model import EmotionModel

    if labels not in ("auto", "go", "ekman"):
        raise fail("--labels must be auto, go or ekman")
    try:
        dataset = load_eval_file(data, label_set=labels)
    except EvalDataError as error:
        raise fail(str(error)) from None
    emotion_model = EmotionModel.load(model) if model is not None else EmotionModel.load_default()
    with progress_bar(len(dataset.texts), "evaluating emotion") as advance:
        result = evaluate(dataset, emotion_model, emotion_model.embed, advance)
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_report(result)


def _print_report(result: dict[str, object]) -> None:
    typer.echo(f"task: {result['task']}  rows: {result['n']}  labels: {result['labels']}")
    typer.echo(f"macro-F1: {result['macro_f1']:.4f}")
    if result["task"] == "binary":
        vader = result["vader_baseline"]
        assert isinstance(vader, dict)
        typer.echo(f"upset F1: {result['f1_upset']:.4f}  accuracy: {result['accuracy']:.4f}")
        typer.echo(f"VADER baseline (compound <= -0.05) upset F1: {vader['f1_upset']:.4f}")
    per_label = result["per_label"]
    assert isinstance(per_label, dict)
    typer.echo(f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, scores in per_label.items():
        typer.echo(
            f"{name:<16}{scores['precision']:>10.4f}{scores['recall']:>10.4f}"
            f"{scores['f1']:>10.4f}{scores['support']:>10d}"
        )
