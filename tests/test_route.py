"""lockstep.route: which backends run a model, in what order, with preflights and clear refusals."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import gguf
import pytest
import transformers

import lockstep
from inspect_models import (
    onnx_model_bytes,
    save_hf_model,
    saved_model_bytes,
    tflite_bytes,
    tiny_bert_config,
    tiny_llama_config,
    tiny_llama_gguf,
)
from lockstep.inspection.model_info import ModelInfo, TensorTypeStat
from lockstep.routing.preflight import HF_INSTALL, LLAMA_CPP_INSTALL, check_hf, check_llama_cpp, check_native
from lockstep.routing.support import LLAMA_CPP_PINNED_VERSION, TRANSFORMERS_GGML_TYPES, TRANSFORMERS_GGUF_ARCHITECTURES

REPO = Path(__file__).parents[1]
Q = gguf.GGMLQuantizationType


def backends(routes) -> list[str]:
    return [item.backend for item in routes]


def gguf_info(arch: str, *types: str) -> ModelInfo:
    """A GGUF description as inspect makes it, for the cases no tool here can write (e.g. I2_S)."""
    stats = tuple(TensorTypeStat(name, 1, 256, 64) for name in types)
    return ModelInfo(path="model.gguf", format="gguf", format_detail="GGUF v3", weights_format="gguf", architecture=arch, tensor_types=stats)


@pytest.fixture(scope="module")
def default_info():
    return lockstep.inspect(lockstep.default_model_path())


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    return save_hf_model(tmp_path_factory.mktemp("llama"), transformers.LlamaForCausalLM(tiny_llama_config()))


# --- which backends -------------------------------------------------------------------------------


def test_default_model_routes(default_info):
    assert set(backends(default_info.routes)) == {"native", "llama.cpp", "hf"}
    assert all(item.path == str(lockstep.default_model_path()) for item in default_info.routes)
    # auto: ready backends first, then the fixed order native, llama.cpp, hf
    ready = [item.preflight.ok for item in default_info.routes]
    assert ready == sorted(ready, reverse=True)
    llama_cpp = next(item for item in default_info.routes if item.backend == "llama.cpp")
    assert LLAMA_CPP_PINNED_VERSION in llama_cpp.reason and "llama" in llama_cpp.reason


def test_hf_llama_folder_routes_to_native_and_hf(llama_folder):
    info = lockstep.inspect(llama_folder)
    assert set(backends(info.routes)) == {"native", "hf"}
    assert all(item.path == str(llama_folder) for item in info.routes)
    native = next(item for item in info.routes if item.backend == "native")
    assert "safetensors" in native.reason and "F32" in native.reason


def test_bert_folder_routes_to_hf_only(tmp_path):
    folder = save_hf_model(tmp_path / "bert", transformers.BertModel(tiny_bert_config()), tokenizer="wordpiece")
    info = lockstep.inspect(folder)
    assert backends(info.routes) == ["hf"]
    with pytest.raises(lockstep.RouteError, match="native engine runs Hugging Face model types"):
        lockstep.route(info, prefer="native", fallback=False)


def test_bitnet_gguf_runs_natively_only(tmp_path):
    info = lockstep.inspect(tiny_llama_gguf(tmp_path / "bitnet.gguf", Q.TQ2_0, arch="bitnet-b1.58"))
    assert backends(info.routes) == ["native"]
    with pytest.raises(lockstep.RouteError, match="does not run the architecture bitnet-b1.58"):
        lockstep.route(info, prefer="llama.cpp", fallback=False)


def test_i2_s_is_not_for_upstream_llama_cpp():
    assert backends(lockstep.route(gguf_info("bitnet-b1.58", "I2_S", "F32"))) == ["native"]
    with pytest.raises(lockstep.RouteError, match="I2_S"):
        lockstep.route(gguf_info("bitnet", "I2_S", "F32"))  # upstream's bitnet architecture, bitnet.cpp's type


def test_ternary_gguf_of_upstream_bitnet_runs_on_llama_cpp():
    assert backends(lockstep.route(gguf_info("bitnet", "TQ2_0", "F32"))) == ["llama.cpp"]


def test_gguf_architecture_nobody_runs():
    with pytest.raises(lockstep.RouteError, match="lockstep convert HF_DIR OUT.gguf") as caught:
        lockstep.route(gguf_info("no-such-arch", "F32"))
    assert "native:" in str(caught.value) and "llama.cpp:" in str(caught.value) and "hf:" in str(caught.value)


def test_multimodal_projector_is_not_standalone():
    with pytest.raises(lockstep.RouteError, match="clip"):
        lockstep.route(gguf_info("clip", "F16"))


def test_unsupported_quant_type_keeps_only_capable_backends():
    # IQ2_XXS: llama.cpp and transformers read it, the native engine does not
    assert set(backends(lockstep.route(gguf_info("llama", "IQ2_XXS", "F32")))) == {"llama.cpp", "hf"}


# --- formats nobody runs: what to convert to, and how ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("model.onnx", onnx_model_bytes(), "ONNX"),
        ("model.tflite", tflite_bytes(), "TFLite"),
        ("noise.bin", bytes(range(256)), "does not recognise"),
    ],
)
def test_unrunnable_formats_say_what_to_do(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    info = lockstep.inspect(path)
    with pytest.raises(lockstep.RouteError) as caught:
        lockstep.route(info)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert expected in message and "lockstep convert" in message
    assert info.route_error == message


def test_saved_model_says_to_export_again(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(saved_model_bytes())
    with pytest.raises(lockstep.RouteError, match="Export the source PyTorch / Hugging Face model again"):
        lockstep.route(lockstep.inspect(tmp_path))


# --- prefer and fallback --------------------------------------------------------------------------


def test_prefer_puts_a_backend_first(default_info):
    for backend in ("native", "llama.cpp", "hf"):
        routes = lockstep.route(default_info, prefer=backend)
        assert backends(routes)[0] == backend and len(routes) == 3
        assert backends(lockstep.route(default_info, prefer=backend, fallback=False)) == [backend]


def test_auto_without_fallback_gives_the_best_only(default_info):
    assert lockstep.route(default_info, fallback=False) == lockstep.route(default_info)[:1]


def test_prefer_a_backend_that_cannot_run_it(llama_folder):
    info = lockstep.inspect(llama_folder)
    assert set(backends(lockstep.route(info, prefer="llama.cpp"))) == {"native", "hf"}
    with pytest.raises(lockstep.RouteError, match="llama.cpp runs GGUF files; convert .*lockstep convert"):
        lockstep.route(info, prefer="llama.cpp", fallback=False)


def test_unknown_backend_name_is_a_value_error(default_info):
    with pytest.raises(ValueError, match="unknown backend 'vllm'"):
        lockstep.route(default_info, prefer="vllm")


def test_pickle_route_says_it_loads_a_pickle(tmp_path):
    import torch

    model = transformers.LlamaForCausalLM(tiny_llama_config())
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    (route,) = lockstep.inspect(tmp_path).routes
    assert route.backend == "hf" and "torch.load(weights_only=True)" in route.reason


# --- preflight ------------------------------------------------------------------------------------


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def test_preflight_reports_what_is_installed():
    llama_cpp = check_llama_cpp()
    assert llama_cpp.installed == _installed("llama-cpp-python")
    assert llama_cpp.importable == (importlib.util.find_spec("llama_cpp") is not None)
    assert llama_cpp.ok == (llama_cpp.installed and llama_cpp.importable)
    if llama_cpp.ok:
        assert llama_cpp.version == f"llama-cpp-python {importlib.metadata.version('llama-cpp-python')}"
    hf = check_hf("safetensors")
    assert hf.ok and f"transformers {transformers.__version__}" in hf.version
    native = check_native()  # the engine registers itself with the dispatcher's registry
    assert native.ok == ("native" in lockstep._core.backend_names())
    if not native.ok:
        assert "native" in native.message


def test_preflight_names_the_install_command_when_a_module_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # how Python marks a module as not importable
    llama_cpp = check_llama_cpp()
    assert not llama_cpp.ok and not llama_cpp.importable
    assert llama_cpp.install_command == LLAMA_CPP_INSTALL == 'pip install "lockstep[llamacpp]"'
    assert LLAMA_CPP_INSTALL in llama_cpp.message
    monkeypatch.setitem(sys.modules, "torch", None)
    hf = check_hf("gguf")
    assert not hf.ok and hf.install_command == HF_INSTALL == 'pip install "lockstep[hf]"'
    assert "torch" in hf.message


def test_inspect_imports_no_backend():
    code = (
        "import sys, lockstep; lockstep.inspect(lockstep.default_model_path()); "
        "print(sorted(m for m in ('torch', 'transformers', 'llama_cpp') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- the support tables against their sources -----------------------------------------------------


def test_llama_cpp_pin_matches_pyproject():
    llamacpp_extra = re.search(r"^llamacpp = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), flags=re.MULTILINE)
    assert f'"llama-cpp-python=={LLAMA_CPP_PINNED_VERSION}"' in llamacpp_extra.group(1)


def test_transformers_gguf_architectures_match_transformers():
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    # transformers spells a few architectures its own way and maps llama.cpp's names itself.
    spelled = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "gpt-oss": "gpt_oss", "minimax-m2": "minimax_m2", "t5encoder": "t5"}
    ours = {spelled.get(name, name) for name in TRANSFORMERS_GGUF_ARCHITECTURES}
    theirs = set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer", "umt5"}  # umt5: t5 files named umt5
    assert ours == theirs


def test_transformers_gguf_types_match_gguf_quants():
    dequantizable = {qtype.name for qtype in gguf.quants._type_traits} | {"F32", "F16"}
    readable_by_lockstep = set(lockstep._core.ggml_types())
    assert TRANSFORMERS_GGML_TYPES == dequantizable & readable_by_lockstep
