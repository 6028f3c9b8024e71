"""Triangulation on a real bug of the reference engine: llama-cpp-python 0.3.36's `bitnet` graph
gates the feed-forward with SiLU, while a BitNet whose config says `hidden_act: relu2` needs
squared ReLU. `lockstep convert --gguf-arch bitnet` writes such a model as llama.cpp's converter
does; crossval against transformers and the native engine must name llama.cpp, at layer 0's
feed-forward, and the activation check must say why. A SiLU BitNet must raise no alarm.
References: the gguf package (names), transformers and llama.cpp themselves (no mocks)."""

from __future__ import annotations

import json

import gguf
import pytest

from crossval_cli import crossval_cli
from lockstep.conversion.convert import convert

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def relu2(zoo, tmp_path_factory):
    folder = zoo("bitnet-b1.58")
    path = tmp_path_factory.mktemp("bitnet") / "bitnet-relu2.gguf"
    convert(folder, path, "f16", gguf_arch="bitnet")
    return folder, path


def test_gguf_arch_bitnet_writes_llama_cpps_names(relu2):
    _, path = relu2
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.architecture"].contents() == gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BITNET]
    allowed = {gguf.TENSOR_NAMES[kind].format(bid=layer) + ".weight"
               for kind in gguf.MODEL_TENSORS[gguf.MODEL_ARCH.BITNET] for layer in range(2)}
    names = {tensor.name for tensor in reader.tensors}
    assert names <= allowed and "blk.0.ffn_sub_norm.weight" in names and "output.weight" not in names
    assert all(key.startswith(("general.", "tokenizer.", "bitnet.", "GGUF.")) or key == "lockstep.ffn_activation"
               for key in reader.fields)
    assert reader.fields["bitnet.block_count"].contents() == 2
    assert reader.fields["lockstep.ffn_activation"].contents() == "relu2"


def test_gguf_arch_refuses_a_name_that_means_another_activation(zoo, tmp_path):
    from lockstep.errors import ConvertError

    with pytest.raises(ConvertError, match="written as bitnet"):
        convert(zoo("bitnet"), tmp_path / "x.gguf", "f16", gguf_arch="bitnet-b1.58")


def test_crossval_names_llama_cpp_at_layer_0_feed_forward(relu2):
    folder, path = relu2
    result = crossval_cli("--model", str(folder), "--backend", f"hf,native,llama.cpp={path}",
                          "--prompt", PROMPT, "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    odd = report["verdict"]["odd_one_out"]
    assert odd == f"llama.cpp@{path.name}"
    assert {b["label"]: b["name"] for b in report["backends"]}[odd] == "llama.cpp"
    for pair in report["pairs"] + report["cross_pairs"]:
        if odd in (pair["reference"], pair["test"]):
            assert not pair["passed"]
            assert (pair["localization"]["layer"], pair["localization"]["point"]) == (0, "ffn_out")
        else:
            assert pair["passed"]
    checks = {c["backend"]: c for c in report["activation_checks"]}
    assert checks[odd]["agrees"] is False and (checks[odd]["declared"], checks[odd]["runs"]) == ("relu2", "silu")
    assert checks[odd]["message"].startswith(f"{odd} runs silu in the feed-forward")
    assert checks["hf"]["agrees"] and checks["native"]["agrees"]
    assert f"activation {odd} runs silu" in result.stderr and "triangulation" in result.stderr


def test_native_runs_relu2_on_the_bitnet_file_like_transformers(relu2):
    import numpy as np

    from lockstep.backends.native import NativeModel
    from test_convert import hf_logits, hf_model

    folder, path = relu2
    engine = NativeModel(path, n_threads=2)
    assert engine.info["architecture"] == "bitnet" and engine.info["ffn_activation"] == "relu2"
    ids = [1, 1560, 740, 198, 2683, 359]
    ours, reference = engine.logits(np.asarray(ids, dtype=np.int32)), hf_logits(hf_model(folder), ids)
    assert np.abs(ours - reference).max() <= 1e-2 * np.abs(reference).max()


def test_a_silu_bitnet_raises_no_alarm(zoo, converted):
    path = converted("bitnet", "f16")
    result = crossval_cli("--model", str(zoo("bitnet")), "--backend", f"hf,native,llama.cpp={path}",
                          "--prompt", PROMPT, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"]["odd_one_out"] is None
    assert [c["agrees"] for c in report["activation_checks"]] == [True, True, True]
    assert {c["runs"] for c in report["activation_checks"]} == {"silu"}
