"""A task branch of the encoder: fine-tuned copies of the top transformer layers.

The encoder's layers below `start` are shared; from `start` upwards it runs the original layers
(the sentence embedding the intent classifier and the conversation tracker read) and, side by
side, each branch's layers (fine-tuned for emotion, or for a trained model's intents; see
`finetune.py`). All come out of one pass, so a branch costs only its own layers.

On disk a branch is one `.npz` of the layer tensors under their safetensors names
("encoder.layer.{i}.<tensor>") in float16, plus `start`. Its digest keys the int8 graph cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

LAYER_COUNT = 6
BRANCH_FILE = "branch.npz"
# The tensors of one BERT layer, relative to "encoder.layer.{i}.".
LAYER_TENSORS = tuple(
    f"{module}.{kind}"
    for module in (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "attention.output.LayerNorm",
        "intermediate.dense",
        "output.dense",
        "output.LayerNorm",
    )
    for kind in ("weight", "bias")
)
DEFAULT_PATH = Path(__file__).resolve().parent / "emotion" / "weights" / BRANCH_FILE


class BranchError(ValueError):
    """A branch file that is missing, malformed or for another layer layout."""


@dataclass(frozen=True)
class Branch:
    """Weights of layers `start`..5 under their safetensors names, float32 in memory."""

    start: int
    weights: dict[str, NDArray[np.float32]]
    digest: str

    @property
    def layers(self) -> range:
        return range(self.start, LAYER_COUNT)

    @classmethod
    def from_weights(cls, start: int, weights: dict[str, NDArray[Any]]) -> Branch:
        """A branch from float weights, rounded to float16 exactly as `save` stores them, so
        that a freshly trained branch and the same branch loaded from disk are identical."""
        rounded = {
            name: np.asarray(value, dtype=np.float16).astype(np.float32)
            for name, value in sorted(weights.items())
        }
        _check(start, rounded)
        return cls(start=start, weights=rounded, digest=_digest(start, rounded))

    @classmethod
    def load(cls, path: Path | str) -> Branch:
        path = Path(path)
        try:
            with np.load(path) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise BranchError(f"{path}: cannot read the encoder branch ({error})") from None
        if "start" not in arrays:
            raise BranchError(f"{path}: no 'start' entry")
        start = int(arrays.pop("start"))
        return cls.from_weights(start, arrays)

    def save(self, path: Path | str) -> None:
        arrays: dict[str, NDArray[Any]] = {
            name: value.astype(np.float16) for name, value in self.weights.items()
        }
        arrays["start"] = np.array(self.start, dtype=np.int64)
        np.savez_compressed(Path(path), **arrays)  # type: ignore[arg-type]


def load_default() -> Branch | None:
    """The shipped emotion branch, or None when the package has none."""
    return Branch.load(DEFAULT_PATH) if DEFAULT_PATH.is_file() else None


def _check(start: int, weights: dict[str, NDArray[np.float32]]) -> None:
    if not 0 <= start < LAYER_COUNT:
        raise BranchError(f"branch start {start} is outside 0..{LAYER_COUNT - 1}")
    expected = [
        f"encoder.layer.{index}.{tensor}"
        for index in range(start, LAYER_COUNT)
        for tensor in LAYER_TENSORS
    ]
    missing = [name for name in expected if name not in weights]
    if missing:
        raise BranchError(f"branch weights lack {', '.join(missing[:3])} ({len(missing)} in all)")


def _digest(start: int, weights: dict[str, NDArray[np.float32]]) -> str:
    hasher = hashlib.sha256(str(start).encode())
    for name, value in weights.items():
        hasher.update(name.encode())
        hasher.update(np.ascontiguousarray(value).tobytes())
    return hasher.hexdigest()[:16]
