"""Fine-tune the emotion branch of the encoder on GoEmotions (training only; needs PyTorch).

Why a branch: frozen MiniLM features with linear heads top out near 0.49 macro-F1 on the 28
GoEmotions labels. Fine-tuning the top transformer layers lifts that, but the intent classifier
needs the original sentence embedding. So the encoder's lower layers stay shared and frozen,
and a copy of the layers from `start` upwards is fine-tuned for emotion; at inference the same
int8 graph computes both branches from one pass through the shared layers.

The model here is a small PyTorch re-implementation of the BERT layers (the same maths as the
NumPy reference in `encoder.py`), loaded from the shipped safetensors, trained with binary
cross-entropy on every emotion head (28 labels, Ekman's 7, upset) through a mean-pooled linear
head. Deterministic: fixed seed, fixed batch order, deterministic kernels, one thread count.
Only the branch layers are returned; the linear head is refitted with the n-gram features by
`training.train`.
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


class TorchUnavailableError(RuntimeError):
    """Fine-tuning needs PyTorch, which inference does not."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchUnavailableError(
            "fine-tuning the emotion branch needs PyTorch: pip install 'warmline[train]' "
            "(or reuse the shipped branch with --branch shipped)"
        ) from None
    return torch


def finetune_branch(
    model_dir: Path,
    texts: Sequence[str],
    targets: NDArray[np.float32],
    settings: FinetuneSettings,
    echo: Callable[[str], None] = lambda message: None,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> dict[str, NDArray[np.float32]]:
    """Fine-tune layers `settings.start`..5 on (texts, multi-hot targets); return their weights
    under the safetensors names ("encoder.layer.{i}.<tensor>"), float32."""
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
    head = nn.Linear(HIDDEN, targets.shape[1])
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

    def pooled(token_ids: Any, mask: Any) -> Any:
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        with torch.no_grad():
            x = embed_norm(word[token_ids] + position[: token_ids.shape[1]] + token_type)
            for layer in frozen:
                x = layer(x, bias)
        for layer in branch:
            x = layer(x, bias)
        weights_ = mask[..., None]
        return (x * weights_).sum(1) / weights_.sum(1).clamp(min=1e-9)

    batches = _length_bucketed_batches(ids, settings.batch_size, rng)
    steps = math.ceil(len(batches) * settings.epochs)
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
    target_tensor = torch.tensor(np.asarray(targets, dtype=np.float32))
    branch.train()
    started = time.perf_counter()
    queue: list[list[int]] = []
    for step in range(1, steps + 1):
        if not queue:
            queue = _length_bucketed_batches(ids, settings.batch_size, rng)
        rows = queue.pop()
        token_ids, mask = batch_tensors(rows)
        features = functional.dropout(pooled(token_ids, mask), settings.dropout, True)
        loss = functional.binary_cross_entropy_with_logits(head(features), target_tensor[rows])
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
