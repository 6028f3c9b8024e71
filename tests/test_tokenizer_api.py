"""lockstep.Tokenizer's Python API: types, special tokens, decoding and streaming, and
clear errors for bad text, bad ids and malformed vocabulary files."""

from __future__ import annotations

import json
import threading

import gguf
import numpy as np
import pytest

import lockstep
from tokenizer_corpus import corpus


@pytest.fixture(scope="module")
def smollm2():
    return lockstep.Tokenizer.from_file(lockstep.default_model_path())


def test_encode_returns_int32_array(smollm2):
    ids = smollm2.encode("Hello world")
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int32 and ids.ndim == 1
    assert smollm2.decode(ids) == "Hello world"


def test_metadata_matches_the_gguf_file(smollm2):
    reader = gguf.GGUFReader(str(lockstep.default_model_path()))
    assert smollm2.vocab_size == len(reader.fields["tokenizer.ggml.tokens"].data)
    assert smollm2.bos_id == reader.fields["tokenizer.ggml.bos_token_id"].contents()
    assert smollm2.eos_id == reader.fields["tokenizer.ggml.eos_token_id"].contents()


def test_special_tokens_are_parsed_only_on_request(smollm2):
    text = "<|im_start|>user"
    special = smollm2.encode(text, parse_special=True)
    plain = smollm2.encode(text, parse_special=False)
    assert smollm2.token_text(int(special[0])) == "<|im_start|>"
    assert len(plain) > len(special)
    assert smollm2.decode(plain) == text == smollm2.decode(special)
    assert smollm2.decode(special, skip_special=True) == "user"


def test_token_to_piece_gives_bytes(smollm2):
    ids = smollm2.encode("é")
    assert b"".join(smollm2.token_to_piece(int(i)) for i in ids) == "é".encode()


def test_streaming_never_splits_a_character(smollm2):
    for doc in corpus(200_000)[:200]:
        ids = smollm2.encode(doc)
        pieces = list(smollm2.stream(ids))
        assert "".join(pieces) == doc
        assert all("\ufffd" not in p for p in pieces)


def test_streaming_replaces_a_sequence_that_cannot_complete(smollm2):
    # A rare character is spelled in byte tokens; its lead byte followed by "a" is cut short.
    for ch in "𝄞𐍈ꙮᚠ𓀀":
        ids = smollm2.encode(ch)
        lead = smollm2.token_to_piece(int(ids[0]))
        if len(ids) > 1 and len(lead) == 1 and lead[0] >= 0xC0:
            assert list(smollm2.stream([int(ids[0])] + smollm2.encode("a").tolist())) == ["\ufffda"]
            assert "".join(smollm2.stream(ids.tolist())) == ch
            return
    pytest.fail("no test character is spelled in byte tokens")


def test_invalid_utf8_is_a_clear_error(smollm2):
    with pytest.raises(ValueError, match="not valid UTF-8 at byte 2"):
        smollm2.encode_bytes(b"ab\xff")
    with pytest.raises(ValueError, match="not valid UTF-8 at byte 1"):
        smollm2.encode("a\ud800")  # a lone surrogate cannot be UTF-8


@pytest.mark.parametrize("bad", [-1, 49152, 2**31, -(2**40)])
def test_ids_out_of_range_are_clear_errors(smollm2, bad):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        smollm2.decode([1, bad])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        smollm2.token_to_piece(bad)


def test_encode_releases_the_gil_and_is_thread_safe(smollm2):
    docs = list(corpus(300_000))
    expected = [smollm2.encode(d).tolist() for d in docs]
    results: dict[int, list[list[int]]] = {}

    def work(k: int) -> None:
        results[k] = [smollm2.encode(d).tolist() for d in docs]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == expected for k in range(3))


# --- malformed GGUF vocabularies -------------------------------------------------------------------

def write_gguf(path, fields: dict) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    for key, (kind, value) in fields.items():
        if kind == "str":
            w.add_string(key, value)
        elif kind == "strs":
            w.add_array(key, value)
        elif kind == "f32s":
            w.add_array(key, [float(v) for v in value])
        elif kind == "i32s":
            w.add_key_value(key, value, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
        elif kind == "u8s":
            w.add_key_value(key, list(value), gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
        elif kind == "bool":
            w.add_bool(key, value)
        elif kind == "u32":
            w.add_uint32(key, value)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


GOOD = {
    "tokenizer.ggml.model": ("str", "gpt2"),
    "tokenizer.ggml.pre": ("str", "gpt-2"),
    "tokenizer.ggml.tokens": ("strs", ["a", "b", "ab"]),
    "tokenizer.ggml.merges": ("strs", ["a b"]),
}


def test_a_minimal_vocabulary_works(tmp_path):
    path = tmp_path / "v.gguf"
    write_gguf(path, GOOD)
    assert lockstep.Tokenizer.from_file(path).encode("abba").tolist() == [2, 1, 0]


@pytest.mark.parametrize("change,reason", [
    ({"tokenizer.ggml.model": None}, "tokenizer.ggml.model is absent"),
    ({"tokenizer.ggml.tokens": None}, "tokenizer.ggml.tokens is absent"),
    ({"tokenizer.ggml.merges": None}, "tokenizer.ggml.merges is absent"),
    ({"tokenizer.ggml.pre": ("str", "no-such-family")}, "unknown pre-tokenizer 'no-such-family'"),
    ({"tokenizer.ggml.model": ("str", "t5")}, "a Unigram vocabulary needs a score for every token"),
    ({"tokenizer.ggml.model": ("str", "rwkv")}, "unsupported tokenizer model 'rwkv'"),
    ({"tokenizer.ggml.scores": ("f32s", [0.0])}, "tokenizer.ggml.scores has 1 entries for 3 tokens"),
    ({"tokenizer.ggml.token_type": ("i32s", [1, 1])}, "token_type has 2 entries for 3 tokens"),
    ({"tokenizer.ggml.tokens": ("str", "abc")}, "tokenizer.ggml.tokens"),
])
def test_malformed_gguf_vocabularies(tmp_path, change, reason):
    fields = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = tmp_path / "bad.gguf"
    write_gguf(path, fields)
    with pytest.raises(lockstep.FormatError, match=reason) as info:
        lockstep.Tokenizer.from_file(path)
    assert info.value.path == str(path)


def charsmap(replacement_offset: int = 0) -> bytes:
    """A precompiled charsmap with one rule, "a" -> "x": darts-clone units for the root
    (BASE 0), the child reached by 'a' (LABEL 0x61, LEAF, BASE 1) and its value unit."""
    units = [0] * 98
    units[0x61] = 0x61 | (1 << 8) | (1 << 10)
    units[0x61 ^ 1] = (1 << 31) | replacement_offset
    array = b"".join(u.to_bytes(4, "little") for u in units)
    return len(array).to_bytes(4, "little") + array + b"x\0"


UNIGRAM = {
    "tokenizer.ggml.model": ("str", "t5"),
    "tokenizer.ggml.tokens": ("strs", ["<pad>", "</s>", "<unk>", "\u2581x", "\u2581a", "\u2581"]),
    "tokenizer.ggml.scores": ("f32s", [0.0, 0.0, 0.0, -1.0, -1.0, -2.0]),
    "tokenizer.ggml.token_type": ("i32s", [3, 3, 2, 1, 1, 1]),
    "tokenizer.ggml.add_space_prefix": ("bool", True),
}


def test_unigram_applies_the_precompiled_charsmap(tmp_path):
    plain, mapped = tmp_path / "plain.gguf", tmp_path / "mapped.gguf"
    write_gguf(plain, UNIGRAM)
    write_gguf(mapped, {**UNIGRAM, "tokenizer.ggml.precompiled_charsmap": ("u8s", charsmap())})
    assert lockstep.Tokenizer.from_file(plain).encode("a a", add_special=True).tolist() == [4, 4, 1]
    tok = lockstep.Tokenizer.from_file(mapped)
    assert tok.encode("a a", add_special=True).tolist() == [3, 3, 1]  # "a" -> "x"; EOS added
    assert tok.encode("b").tolist() == [5, 2]  # no token for "b": unknown
    assert tok.decode([3, 3]) == "x x"


@pytest.mark.parametrize("blob,reason", [
    (b"\x04\x00", "shorter than its 4-byte header"),
    ((1000).to_bytes(4, "little") + bytes(8), "array of 1000 bytes does not fit"),
    (charsmap(replacement_offset=1000), "points at byte 1000"),
], ids=["short-header", "array-too-long", "rule-outside-the-strings"])
def test_malformed_charsmaps(tmp_path, blob, reason):
    path = tmp_path / "bad.gguf"
    write_gguf(path, {**UNIGRAM, "tokenizer.ggml.precompiled_charsmap": ("u8s", blob)})
    with pytest.raises(lockstep.FormatError, match=reason):
        lockstep.Tokenizer.from_file(path).encode("a")


def test_truncated_gguf_is_a_format_error(tmp_path):
    good = tmp_path / "v.gguf"
    write_gguf(good, GOOD)
    data = good.read_bytes()
    for cut in range(4, len(data), max(1, len(data) // 40)):
        bad = tmp_path / "cut.gguf"
        bad.write_bytes(data[:cut])
        with pytest.raises(lockstep.FormatError):
            lockstep.Tokenizer.from_file(bad)


# --- malformed tokenizer.json ------------------------------------------------------------------

GOOD_JSON = {
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
    "added_tokens": [{"id": 3, "content": "<s>", "special": True}],
}


def test_a_minimal_tokenizer_json_works(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(GOOD_JSON))
    tok = lockstep.Tokenizer.from_file(path)
    assert tok.encode("ab<s>", parse_special=True).tolist() == [2, 3]


@pytest.mark.parametrize("document,reason", [
    ("{", "invalid JSON"),
    ("[]", "is not a JSON object"),
    (json.dumps({"pre_tokenizer": None}), "no 'model'"),
    (json.dumps({**GOOD_JSON, "model": {"type": "Unigram", "vocab": []}}), "unsupported model type 'Unigram'"),
    (json.dumps({**GOOD_JSON, "model": {"type": "BPE", "vocab": {"a": 0, "b": 5}, "merges": []}}), "not contiguous"),
    (json.dumps({**GOOD_JSON, "model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}}), "non-integer id"),
    (json.dumps({**GOOD_JSON, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["ab"]}}), "is not a pair"),
    (json.dumps({**GOOD_JSON, "pre_tokenizer": {"type": "Whitespace"}}), "unsupported pre_tokenizer 'Whitespace'"),
    (json.dumps({**GOOD_JSON, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)"}, "behavior": "Isolated"}}), "regex"),
    (json.dumps({**GOOD_JSON, "normalizer": {"type": "NFKC"}}), "unsupported normalizer 'NFKC'"),
])
def test_malformed_tokenizer_json(tmp_path, document, reason):
    path = tmp_path / "tokenizer.json"
    path.write_text(document)
    with pytest.raises(lockstep.FormatError, match=reason):
        lockstep.Tokenizer.from_file(path)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(lockstep.FormatError, match="cannot open"):
        lockstep.Tokenizer.from_file(tmp_path / "nope.json")
