"""`warmline train intents`, `warmline eval intents` and `warmline models build`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from warmline.cli.app import eval_app, models_app, train_app
from warmline.cli.jsonl import fail

# The shipped default of `Settings.reject_rate`, repeated here so that `--help` does not import
# the classifier (and NumPy); tests check the two agree.
DEFAULT_REJECT_RATE = 0.05
MAX_WARNINGS = 20  # data warnings printed by `train intents` (the rest are counted)

if TYPE_CHECKING:
    from rich.progress import Progress

    from warmline.understanding.intents import IntentClassifier


@train_app.command("intents")
def train_intents(
    data: Path = typer.Option(
        ..., "--data", help="CSV (text + label/category/intent) or YAML pack."
    ),
    out: Path = typer.Option(..., "--out", help="Directory to write the model to."),
    reject_rate: float = typer.Option(
        DEFAULT_REJECT_RATE,
        "--reject-rate",
        min=0.0,
        max=0.5,
        help="Share of held-out in-scope training examples the out-of-scope threshold rejects "
        "(used when the data has no `oos` examples); higher catches more out-of-scope messages "
        "and rejects more in-scope ones.",
    ),
    finetune: bool = typer.Option(
        False,
        "--finetune/--no-finetune",
        help="Also fine-tune an intent branch of the encoder (needs PyTorch, the `train` extra, "
        "and at least 1,000 examples; otherwise training goes on without one). It adds three "
        "encoder layers to every message; see docs/intents.md for what it gained and lost.",
    ),
    include_corrections: bool = typer.Option(
        False,
        "--include-corrections",
        help="Add the intents agents corrected in the configured database (WARMLINE_DATABASE_URL).",
    ),
) -> None:
    """Train an intent classifier (calibrated, with out-of-scope detection) from examples."""
    from warmline.understanding.intents import (
        IntentClassifier,
        IntentDataError,
        Settings,
        load_examples,
    )
    from warmline.understanding.intents.data import conflicting_examples

    try:
        examples = load_examples(data)
    except IntentDataError as error:
        raise fail(str(error)) from None
    if include_corrections:
        _add_corrections(examples)
    for warning in examples.warnings[:MAX_WARNINGS]:
        typer.echo(f"warning: {warning}", err=True)
    if len(examples.warnings) > MAX_WARNINGS:
        typer.echo(f"warning: ... and {len(examples.warnings) - MAX_WARNINGS} more", err=True)
    conflicts = conflicting_examples(examples.texts, examples.labels)
    if conflicts:  # named by the warnings above; left out here so training does not repeat them
        dropped = {i for rows in conflicts.values() for i in rows}
        keep = [i for i in range(len(examples.texts)) if i not in dropped]
        examples.texts = [examples.texts[i] for i in keep]
        examples.labels = [examples.labels[i] for i in keep]
    started = time.perf_counter()
    with _progress() as progress:
        try:
            model = IntentClassifier(Settings(reject_rate=reject_rate, finetune=finetune)).fit(
                examples.texts, examples.labels, progress=_reporter(progress)
            )
        except IntentDataError as error:
            raise fail(f"{data}: {error}") from None
    model.save(out)
    typer.echo(
        f"trained {len(model.intents)} intents on {len(examples)} examples in "
        f"{time.perf_counter() - started:.1f}s -> {out} "
        f"(temperature {model.temperature:.3f}, out-of-scope threshold {model.threshold:.3f}); "
        f"{_branch_summary(model.info.get('branch') or {})}",
        err=True,
    )


def _branch_summary(branch: dict[str, Any]) -> str:
    if branch.get("finetuned"):
        return (
            f"intent branch: encoder layers {branch['start']}-5 fine-tuned in "
            f"{branch['seconds']:.0f}s"
        )
    return f"no intent branch ({branch.get('reason', 'not trained')})"


def _add_corrections(examples: Any) -> None:
    """Append agents' intent corrections whose intent the training data has (a correction to
    an intent with no examples is reported, not trained on: one example is not an intent)."""
    from warmline.cli.kb import _sessions
    from warmline.storage.corrections import intent_examples

    with _sessions()() as session:
        corrections = intent_examples(session)
    known = set(examples.labels)
    added = 0
    for text, intent in corrections:
        if intent in known:
            examples.texts.append(text)
            examples.labels.append(intent)
            added += 1
        else:
            examples.warnings.append(f"correction to {intent!r} skipped: no training examples")
    typer.echo(f"added {added} of {len(corrections)} agent corrections", err=True)


@eval_app.command("intents")
def eval_intents(
    model_dir: Path = typer.Option(..., "--model", help="Model directory from `train intents`."),
    test: Path = typer.Option(
        ..., "--test", help="CSV of test examples; label `oos` = out of scope."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Evaluate a model: accuracy, macro-F1, out-of-scope P/R and AUROC, calibration (ECE)."""
    from warmline.understanding.intents import IntentClassifier, IntentDataError, load_examples

    try:
        examples = load_examples(test)
    except IntentDataError as error:
        raise fail(str(error)) from None
    try:
        model = IntentClassifier.load(model_dir)
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise fail(f"cannot load model: {error}") from None
    result = evaluate_model(model, examples.texts, examples.labels)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(format_report(result))


@models_app.command("build")
def models_build(
    encoder_only: bool = typer.Option(False, "--encoder-only", help="Only build the int8 encoder."),
) -> None:
    """Build the int8 ONNX encoder cache and retrain the shipped default intent model."""
    from warmline.understanding.branch import load_default
    from warmline.understanding.encoder import default_model_dir
    from warmline.understanding.encoder_onnx import ensure_onnx

    path = ensure_onnx(default_model_dir(), force=True, branch=load_default())
    typer.echo(f"encoder: {path}", err=True)
    if encoder_only:
        return
    from warmline.understanding.intents.default import build_default_model

    with _progress() as progress:
        directory = build_default_model(progress=_reporter(progress))
    typer.echo(f"default intent model: {directory}", err=True)


def evaluate_model(model: IntentClassifier, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """Predict every test text and compute the metrics (shared with the benchmarks)."""
    from warmline.understanding.intents.data import OOS_LABEL
    from warmline.understanding.intents.metrics import evaluate

    scores = model.scores(texts)
    predictions = model.predictions(scores)
    top = model.top_intents(scores)
    # Calibration is judged on the stated confidence: the probability that the best in-scope
    # intent is right (discounted when the message is judged out of scope).
    confidence = [p.confidence for p in predictions]
    result = evaluate(
        gold=labels,
        predicted=[p.intent for p in predictions],
        confidence=confidence,
        oos_score=(1.0 - scores.in_scope).tolist(),
        top_intent=top,
    )
    result["threshold"] = model.threshold
    # The same number under the name the issue tracker uses, and the operating point: the share
    # of held-out in-scope training examples the threshold was set to reject (None when `oos`
    # examples set it instead).
    result["auroc"] = result["oos_auroc"]
    has_oos = OOS_LABEL in model.classes
    result["reject_rate"] = None if has_oos else model.settings.reject_rate
    result["threshold_source"] = "oos examples" if has_oos else "reject rate"
    return result


def format_report(result: dict[str, Any]) -> str:
    """Human-readable summary of `evaluate_model` output."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f}%"

    lines = [
        f"examples             {result['examples']} ({result['oos_examples']} out of scope)",
        f"accuracy             {pct(result['accuracy'])}  (top intent, in-scope examples)",
        f"in-scope accuracy    {pct(result['in_scope_accuracy'])}  (accepted and correct)",
        f"overall accuracy     {pct(result['overall_accuracy'])}  (final label incl. oos)",
        f"macro-F1             {result['macro_f1']:.4f}",
        f"oos precision        {pct(result['oos_precision'])}",
        f"oos recall           {pct(result['oos_recall'])}",
        f"in-scope rejected    {pct(result['in_scope_rejection_rate'])}",
        f"oos AUROC            {_fixed(result['oos_auroc'])}",
        f"threshold            {result['threshold']:.4f}  ({_operating_point(result)})",
        f"ECE                  {result['ece']:.4f}",
        "",
        "per intent                         precision  recall      f1  support",
    ]
    for name, row in sorted(result["per_intent"].items()):
        lines.append(
            f"  {name[:32]:32s} {row['precision']:9.3f} {row['recall']:7.3f} "
            f"{row['f1']:7.3f} {row['support']:8d}"
        )
    lines += ["", "worst confusions (gold -> predicted: count)"]
    lines += [
        f"  {c['gold']} -> {c['predicted']}: {c['count']}" for c in result["worst_confusions"]
    ]
    return "\n".join(lines) + "\n"


def _operating_point(result: dict[str, Any]) -> str:
    rate = result.get("reject_rate")
    if rate is None:
        return "set by the training data's oos examples"
    return f"rejects {100 * rate:.1f}% of held-out in-scope training examples"


def _fixed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _reporter(progress: Progress) -> Any:
    """One bar per stage, each finished when the next stage starts."""
    tasks: dict[str, tuple[Any, int]] = {}

    def report(stage: str, done: int, total: int) -> None:
        total = max(total, 1)
        if stage not in tasks:
            for task, task_total in tasks.values():
                progress.update(task, completed=task_total)
            tasks[stage] = (progress.add_task(stage, total=total), total)
        task = tasks[stage][0]
        tasks[stage] = (task, total)
        progress.update(task, completed=done, total=total)

    return report
