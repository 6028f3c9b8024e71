"""Large vocabularies (262,144 tokens, thousands of added tokens, as Gemma 3's) are not a
special case: the hf backend's piece table and the vocabulary bridge over every id, checked
against the tokenizers library's own decoding and a plain Python pairing."""

from __future__ import annotations

import numpy as np
import pytest

from lockstep import _core
from lockstep.backends.hf import token_pieces
from lockstep.zoo.synthetic import LARGE_VOCAB_SIZE, save_large_tokenizer

N_ADDED = 6144


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    from transformers import AutoTokenizer

    folder = save_large_tokenizer(tmp_path_factory.mktemp("large-vocab"), LARGE_VOCAB_SIZE, N_ADDED)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer, token_pieces(tokenizer, LARGE_VOCAB_SIZE + 16)


def test_every_piece_is_what_the_tokenizer_decodes(large):
    tokenizer, pieces = large
    assert len(tokenizer) == LARGE_VOCAB_SIZE and len(pieces) == LARGE_VOCAB_SIZE + 16
    assert pieces[LARGE_VOCAB_SIZE:] == [b""] * 16  # padded rows beyond the tokenizer
    decoded = tokenizer.backend_tokenizer.decode_batch([[i] for i in range(LARGE_VOCAB_SIZE)],
                                                       skip_special_tokens=False)
    checked = 0
    for token_id, (piece, text) in enumerate(zip(pieces, decoded)):
        try:
            as_text = piece.decode("utf-8")
        except UnicodeDecodeError:  # a partial UTF-8 sequence: the decoder shows U+FFFD instead
            assert "\ufffd" in text, token_id
            continue
        assert as_text == text, token_id
        checked += 1
    assert checked > 30000  # the single bytes below 0x80, the added tokens and every valid random piece
    added = tokenizer.added_tokens_decoder
    assert len(added) == N_ADDED
    assert all(pieces[i] == token.content.encode() for i, token in added.items())


def test_the_bridge_pairs_a_permuted_and_extended_large_vocabulary(large):
    _, pieces = large
    pieces = pieces[:LARGE_VOCAB_SIZE]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(pieces))
    other = [pieces[i] for i in order] + [b"<only on one side %d>" % i for i in range(1000)]
    bridge = _core.vocab_bridge(pieces, other)
    where = {piece: i for i, piece in enumerate(other)}
    expected = np.array([where.get(piece, -1) for piece in pieces], dtype=np.int32)
    np.testing.assert_array_equal(bridge["a_to_b"], expected)
    assert not bridge["identity"] and bridge["unaligned_a"] == 0 and bridge["unaligned_b"] == 1000
