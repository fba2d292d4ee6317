"""Fine-tune a branch of the encoder for one task (training only; needs PyTorch).

Why a branch: frozen MiniLM features with linear heads top out near 0.49 macro-F1 on the 28
GoEmotions labels, and fine-tuning the top layers lifts intents too; but the other readers
need the original sentence embedding. So the encoder's lower layers stay shared and frozen,
and a copy of the layers from `start` upwards is fine-tuned for the task; at inference the same
int8 graph computes every branch from one pass through the shared layers.

Two tasks use it: emotion (binary cross-entropy on every emotion head: 28 labels, Ekman's 7,
upset; `emotion/training.py`) and a trained model's intents (softmax cross-entropy;
`intents/classifier.py`). The model is a small PyTorch re-implementation of the BERT layers
(the same maths as the NumPy reference in `encoder.py`), loaded from the shipped safetensors,
trained through a mean-pooled linear head. The frozen layers' output is computed once per text,
not once per step. Deterministic: fixed seed, fixed batch order, deterministic kernels, one
thread count. Only the branch layers are returned; each task refits its own head afterwards.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

HIDDEN = 384
HEADS = 12
MAX_TOKENS = 64
LAYER_COUNT = 6
# Names of one BERT layer's tensors in the safetensors file, relative to "encoder.layer.{i}.".
LINEARS = (
    ("query", "attention.self.query"),
    ("key", "attention.self.key"),
    ("value", "attention.self.value"),
    ("out", "attention.output.dense"),
    ("ff1", "intermediate.dense"),
    ("ff2", "output.dense"),
)
NORMS = (("ln1", "attention.output.LayerNorm"), ("ln2", "output.LayerNorm"))


@dataclass(frozen=True)
class FinetuneSettings:
    """The recipe; every field is recorded in the model's metadata."""

    start: int = 3
    epochs: float = 3.0
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.06
    dropout: float = 0.1
    threads: int = 2
    seed: int = 0
    # Upper bound on optimiser steps (0: none), so that training time stays bounded on large
    # training sets: the schedule ends after min(epochs x batches, max_steps) steps.
    max_steps: int = 0


class TorchUnavailableError(RuntimeError):
    """Fine-tuning needs PyTorch, which inference does not."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchUnavailableError(
            "fine-tuning an encoder branch needs PyTorch: pip install 'warmline[train]'"
        ) from None
    return torch


def finetune_branch(
    model_dir: Path,
    texts: Sequence[str],
    targets: NDArray[np.float32] | NDArray[np.int64],
    settings: FinetuneSettings,
    echo: Callable[[str], None] = lambda message: None,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> dict[str, NDArray[np.float32]]:
    """Fine-tune layers `settings.start`..5 on (texts, targets); return their weights under the
    safetensors names ("encoder.layer.{i}.<tensor>"), float32. Multi-hot `targets` (n, labels)
    train with binary cross-entropy (emotion); class indices (n,) with softmax cross-entropy
    (intents)."""
    torch = _torch()
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    nn = torch.nn
    functional = torch.nn.functional
    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)

    weights = load_file(str(model_dir / "model.safetensors"))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    ids = [list(encoding.ids) for encoding in tokenizer.encode_batch(list(texts))]

    def tensor(name: str) -> Any:
        return torch.tensor(np.asarray(weights[name], dtype=np.float32))

    module: Any = nn.Module

    class Layer(module):  # type: ignore[misc]
        def __init__(self, index: int) -> None:
            super().__init__()
            prefix = f"encoder.layer.{index}."
            for attr, name in LINEARS:
                weight = tensor(f"{prefix}{name}.weight")
                linear = nn.Linear(weight.shape[1], weight.shape[0])
                linear.weight.data = weight
                linear.bias.data = tensor(f"{prefix}{name}.bias")
                setattr(self, attr, linear)
            for attr, name in NORMS:
                norm = nn.LayerNorm(HIDDEN, eps=1e-12)
                norm.weight.data = tensor(f"{prefix}{name}.weight")
                norm.bias.data = tensor(f"{prefix}{name}.bias")
                setattr(self, attr, norm)

        def forward(self, x: Any, bias: Any) -> Any:
            batch, length, _ = x.shape

            def split(z: Any) -> Any:
                return z.view(batch, length, HEADS, HIDDEN // HEADS).transpose(1, 2)

            attended = functional.scaled_dot_product_attention(
                split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=bias
            )
            x = self.ln1(x + self.out(attended.transpose(1, 2).reshape(batch, length, HIDDEN)))
            return self.ln2(x + self.ff2(functional.gelu(self.ff1(x))))

    word = tensor("embeddings.word_embeddings.weight")
    position = tensor("embeddings.position_embeddings.weight")
    token_type = tensor("embeddings.token_type_embeddings.weight")[0]
    embed_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
    embed_norm.weight.data = tensor("embeddings.LayerNorm.weight")
    embed_norm.bias.data = tensor("embeddings.LayerNorm.bias")
    frozen = [Layer(i) for i in range(settings.start)]
    branch = nn.ModuleList([Layer(i) for i in range(settings.start, LAYER_COUNT)])
    single_label = targets.ndim == 1
    head = nn.Linear(HIDDEN, int(targets.max()) + 1 if single_label else targets.shape[1])
    nn.init.normal_(head.weight, std=0.02)
    nn.init.zeros_(head.bias)
    for layer in frozen:
        layer.requires_grad_(False)
    embed_norm.requires_grad_(False)

    def batch_tensors(rows: Sequence[int]) -> tuple[Any, Any]:
        length = max(len(ids[row]) for row in rows)
        token_ids = torch.zeros(len(rows), length, dtype=torch.long)
        mask = torch.zeros(len(rows), length)
        for position_in_batch, row in enumerate(rows):
            sequence = ids[row]
            token_ids[position_in_batch, : len(sequence)] = torch.tensor(sequence)
            mask[position_in_batch, : len(sequence)] = 1.0
        return token_ids, mask

    def attention_bias(mask: Any) -> Any:
        return ((1.0 - mask) * -1e9)[:, None, None, :]

    # The frozen layers' output of every text, once (their weights never change).
    shared: list[Any] = [None] * len(ids)
    with torch.no_grad():
        order = sorted(range(len(ids)), key=lambda row: len(ids[row]))
        for first in range(0, len(order), 64):
            rows = order[first : first + 64]
            token_ids, mask = batch_tensors(rows)
            x = embed_norm(word[token_ids] + position[: token_ids.shape[1]] + token_type)
            for layer in frozen:
                x = layer(x, attention_bias(mask))
            for offset, row in enumerate(rows):
                shared[row] = x[offset, : len(ids[row])].clone()

    def pooled(rows: Sequence[int]) -> Any:
        _, mask = batch_tensors(rows)
        x = torch.zeros(len(rows), mask.shape[1], HIDDEN)
        for offset, row in enumerate(rows):
            x[offset, : len(ids[row])] = shared[row]
        bias = attention_bias(mask)
        for layer in branch:
            x = layer(x, bias)
        weights_ = mask[..., None]
        return (x * weights_).sum(1) / weights_.sum(1).clamp(min=1e-9)

    batches = _length_bucketed_batches(ids, settings.batch_size, rng)
    steps = math.ceil(len(batches) * settings.epochs)
    if settings.max_steps > 0:
        steps = min(steps, settings.max_steps)
    optimiser = torch.optim.AdamW(
        [
            {"params": list(branch.parameters()), "lr": settings.learning_rate},
            {"params": list(head.parameters()), "lr": settings.head_learning_rate},
        ],
        weight_decay=settings.weight_decay,
    )
    warmup = max(1, int(settings.warmup * steps))

    def schedule(step: int) -> float:
        return min(1.0, step / warmup) * max(0.0, (steps - step) / max(1, steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    target_tensor = (
        torch.tensor(np.asarray(targets, dtype=np.int64))
        if single_label
        else torch.tensor(np.asarray(targets, dtype=np.float32))
    )
    criterion = (
        functional.cross_entropy if single_label else functional.binary_cross_entropy_with_logits
    )
    branch.train()
    started = time.perf_counter()
    queue: list[list[int]] = []
    for step in range(1, steps + 1):
        if not queue:
            queue = _length_bucketed_batches(ids, settings.batch_size, rng)
        rows = queue.pop()
        features = functional.dropout(pooled(rows), settings.dropout, True)
        loss = criterion(head(features), target_tensor[rows])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        scheduler.step()
        progress("fine-tuning", step, steps)
        if step % 500 == 0 or step == steps:
            elapsed = time.perf_counter() - started
            echo(f"  step {step}/{steps}: loss {loss.item():.4f} ({elapsed:.0f} s)")
    branch.eval()
    out: dict[str, NDArray[np.float32]] = {}
    for offset, layer in enumerate(branch):
        prefix = f"encoder.layer.{settings.start + offset}."
        for attr, name in LINEARS:
            linear = getattr(layer, attr)
            out[f"{prefix}{name}.weight"] = linear.weight.detach().numpy().astype(np.float32)
            out[f"{prefix}{name}.bias"] = linear.bias.detach().numpy().astype(np.float32)
        for attr, name in NORMS:
            norm = getattr(layer, attr)
            out[f"{prefix}{name}.weight"] = norm.weight.detach().numpy().astype(np.float32)
            out[f"{prefix}{name}.bias"] = norm.bias.detach().numpy().astype(np.float32)
    return out


def _length_bucketed_batches(
    ids: Sequence[Sequence[int]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """One epoch of batches: shuffled, then sorted by length within chunks of 50 batches so that
    padding stays small, then the batches shuffled again."""
    order = list(range(len(ids)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda row: len(ids[row]))
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches
