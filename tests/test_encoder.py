"""The MiniLM sentence encoder: reference values, batching, caching and hostile input."""

from __future__ import annotations

import numpy as np
import pytest

from warmline.understanding.encoder import DIM, MAX_CHARS, Encoder, clean_text, get_encoder

# First five dimensions of sentence-transformers' all-MiniLM-L6-v2 embeddings (normalised),
# computed with the reference implementation by benchmarks/compare_encoder_reference.py.
REFERENCE = {
    "Where is my order? It was supposed to arrive on Monday.": [
        0.002417,
        0.00952,
        0.053056,
        0.032811,
        0.009485,
    ],
    "I want to cancel my subscription": [-0.018475, 0.004257, -0.018814, -0.032288, -0.007262],
    "hello": [-0.062772, 0.054959, 0.052165, 0.08579, -0.082749],
}

HOSTILE = [
    "",
    "   \n\t ",
    "x" * 100_000,
    "word " * 20_000,
    "😡😡😡🙏",
    "我的订单在哪里？",
    "Где мой заказ?",
    "\x00\x01\x07\x1b[31m",
    "lone surrogate \ud800 here",
    "مرحبا، أين طلبي",
]


@pytest.fixture(scope="module")
def numpy_encoder() -> Encoder:
    return Encoder(backend="numpy", cache_size=16)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return get_encoder()


def test_numpy_backend_matches_sentence_transformers(numpy_encoder: Encoder) -> None:
    vectors = numpy_encoder.encode(list(REFERENCE))
    for vector, expected in zip(vectors, REFERENCE.values(), strict=True):
        np.testing.assert_allclose(vector[:5], expected, atol=2e-5)


def test_default_backend_is_close_to_reference(encoder: Encoder, numpy_encoder: Encoder) -> None:
    texts = [*REFERENCE, "my card was declined at the checkout, why?"]
    fast = encoder.encode(texts)
    exact = numpy_encoder.encode(texts)
    cosines = np.sum(fast * exact, axis=1)
    assert cosines.min() > 0.97, cosines
    for vector, expected in zip(fast, REFERENCE.values(), strict=False):
        np.testing.assert_allclose(vector[:5], expected, atol=0.02)


def test_output_shape_dtype_and_norm(encoder: Encoder) -> None:
    vectors = encoder.encode(["hi", "where is my parcel", "I was charged twice for one order"])
    assert vectors.shape == (3, DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    pooled = encoder.encode_pooled(["hi"])
    assert pooled.shape == (1, 2 * DIM)
    np.testing.assert_allclose(np.linalg.norm(pooled[0, DIM:]), 1.0, atol=1e-5)


def test_padding_does_not_change_results(numpy_encoder: Encoder) -> None:
    short, long = (
        "refund",
        "I returned the jacket three weeks ago and I am still waiting for my money",
    )
    batch = numpy_encoder.encode_uncached([short, long])
    alone = numpy_encoder.encode_uncached([short])
    np.testing.assert_allclose(batch[0], alone[0], atol=1e-5)


def test_related_sentences_are_closer_than_unrelated(encoder: Encoder) -> None:
    a, b, c = encoder.encode(
        ["Where is my package?", "My parcel has not arrived yet", "I want to change my password"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_cache_reuses_and_stays_bounded() -> None:
    small = Encoder(cache_size=3)
    first = small.encode_one("where is my order")
    assert small.cache_info()["size"] == 1
    again = small.encode_one("where  is my order ")  # same text after whitespace clean-up
    np.testing.assert_array_equal(first, again)
    assert small.cache_info()["size"] == 1
    small.encode([f"message {i}" for i in range(10)])
    assert small.cache_info() == {"size": 3, "capacity": 3}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_gives_a_finite_unit_vector(encoder: Encoder, text: str) -> None:
    vector = encoder.encode_one(text)
    assert vector.shape == (DIM,)
    assert np.all(np.isfinite(vector))
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_non_string_input_is_tolerated(encoder: Encoder) -> None:
    vectors = encoder.encode([None, 42])  # type: ignore[list-item]
    assert vectors.shape == (2, DIM)


def test_clean_text_bounds_length_and_collapses_whitespace() -> None:
    assert clean_text("  a \n\n b\t") == "a b"
    assert len(clean_text("y" * 100_000)) == MAX_CHARS


def test_informative_flags_text_without_known_words(encoder: Encoder) -> None:
    flags = encoder.informative(
        ["", "😡😡😡", "\x00\x01", "x" * 5000, "where is my order", "我的订单"]
    )
    assert flags == [False, False, False, False, True, True]


def test_informative_reads_the_flags_of_encoded_texts_and_forgets_evicted_ones() -> None:
    small = Encoder(cache_size=2)
    texts = ["where is my order", "😡😡😡", "refund please"]
    expected = [True, False, True]
    small.encode(texts)  # the first text is evicted from a cache of two
    assert small.informative(texts) == expected  # cached flags and a fresh tokenization agree
    assert set(small._known) == set(small._cache) == {"😡😡😡", "refund please"}
    small.clear_cache()
    assert small.informative(texts) == expected and not small._known


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="backend"):
        Encoder(backend="cuda")


# -- the emotion branch ---------------------------------------------------------------------------


def test_branch_is_shipped_and_computed_in_the_same_pass(
    encoder: Encoder, numpy_encoder: Encoder
) -> None:
    assert encoder.branch is not None and 0 < encoder.branch.start < 6
    texts = ["I am so fed up with this", "thanks, that worked", "where is my parcel?"]
    fast = encoder.encode_branch(texts)
    exact = numpy_encoder.encode_branch(texts)
    assert fast.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # The int8 graph's branch output follows the float32 NumPy reference.
    assert np.sum(fast * exact, axis=1).min() > 0.97
    # The branch is not the sentence embedding: fine-tuning moved it.
    assert np.sum(fast * encoder.encode(texts), axis=1).max() < 0.95
    # Sentence embeddings are unchanged by the branch (still sentence-transformers'), within
    # the int8 tolerance of test_default_backend_is_close_to_reference: the int8 kernels differ
    # by CPU (with AVX512-VNNI one component of "hello" moves by 0.011).
    sentence = encoder.encode(list(REFERENCE))
    for vector, expected in zip(sentence, REFERENCE.values(), strict=True):
        np.testing.assert_allclose(vector[:5], expected, atol=0.02)


def test_encoder_without_branch_gives_no_branch_vector() -> None:
    plain = Encoder(backend="numpy", cache_size=4, branch=None)
    assert plain.branch is None
    assert plain.encode_branch_one("hello") is None
    assert not plain.encode_branch(["hello"]).any()
    np.testing.assert_allclose(plain.encode(["hello"])[0, :5], REFERENCE["hello"], atol=2e-5)


def test_branch_file_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from warmline.understanding.branch import Branch, BranchError

    garbage = tmp_path / "branch.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(BranchError, match=r"branch\.npz"):
        Branch.load(garbage)
    np.savez(tmp_path / "nostart.npz", x=np.zeros(3))
    with pytest.raises(BranchError, match="start"):
        Branch.load(tmp_path / "nostart.npz")
    np.savez(tmp_path / "partial.npz", start=np.array(4))
    with pytest.raises(BranchError, match="lack"):
        Branch.load(tmp_path / "partial.npz")
    with pytest.raises(BranchError, match="outside"):
        Branch.from_weights(7, {})
