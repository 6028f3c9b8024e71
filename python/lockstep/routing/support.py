"""What each backend can run: architectures and tensor types, with where each list comes from.

route.py decides with these tables; they are data, kept apart so that a new engine
architecture or a new pinned llama.cpp is a one-line change here.
"""

from __future__ import annotations

from lockstep import _core

# --- native: lockstep's own C++ engine -------------------------------------------------------
# Owned by C++ (src/model/config.h kArchitectureNames, kernels::matmul_supports): the names it
# accepts are the GGUF general.architecture and config.json model_type values it implements.
_NATIVE = _core.native_support()
NATIVE_GGUF_ARCHITECTURES = frozenset(_NATIVE["architectures"])
NATIVE_HF_MODEL_TYPES = frozenset(_NATIVE["architectures"])
NATIVE_GGML_TYPES = frozenset(_NATIVE["ggml_types"])  # read in place from the memory map
NATIVE_SAFETENSORS_DTYPES = frozenset(_NATIVE["safetensors_dtypes"])
# The feed-forward activation of each GGUF architecture, unless the file names its own under
# NATIVE_FFN_ACTIVATION_KEY (src/model/config.h); a Hugging Face folder's is its hidden_act.
NATIVE_GGUF_FFN_ACTIVATIONS: dict[str, str] = dict(_NATIVE["gguf_ffn_activations"])
NATIVE_FFN_ACTIVATION_KEY: str = _NATIVE["ffn_activation_key"]

# --- llama.cpp, through llama-cpp-python ------------------------------------------------------
LLAMA_CPP_DISTRIBUTION = "llama-cpp-python"
LLAMA_CPP_MODULE = "llama_cpp"
LLAMA_CPP_PINNED_VERSION = "0.3.36"  # pyproject.toml, extra "llamacpp"
# LLM_ARCH_NAMES in vendor/llama.cpp/src/llama-arch.cpp of llama-cpp-python 0.3.36.
LLAMA_CPP_ARCHITECTURES = frozenset(
    """
    afmoe apertus arcee arctic arwkv7 baichuan bailingmoe bailingmoe2 bailingmoe3 bert
    bitnet bloom chameleon chatglm clip codeshell cogvlm cohere2 cohere2moe command-r dbrx
    deci deepseek deepseek2 deepseek2-ocr deepseek32 deepseek4 dflash dots1 dots3note dream
    eagle3 ernie4_5 ernie4_5-moe eurobert exaone exaone-moe exaone4 falcon falcon-h1 gemma
    gemma-embedding gemma2 gemma3 gemma3n gemma4 gemma4-assistant glm-dsa glm4 glm4moe
    glm5-next gpt-oss gpt2 gptj gptneox granite granite_swa granitehybrid granitemoe
    graniteswitch grok grovemoe hrm_text hunyuan-dense hunyuan-moe hunyuan_vl hy_v3 hy_v4
    internlm2 jais jais2 jamba jina-bert-v2 jina-bert-v3 kimi-k3 kimi-linear laguna lfm2
    lfm2moe llada llada-moe llama llama-embed llama4 maincoder mamba mamba2 maple mellum
    mimo2 minicpm minicpm3 minimax-01 minimax-m2 minimax-m3 mistral3 mistral4 modern-bert
    mpt muse-glimmer nanbeige nemotron nemotron_h nemotron_h_moe neo-bert nomic-bert
    nomic-bert-moe olmo olmo2 olmoe openelm orion paddleocr pangu-embedded phi2 phi3 phimoe
    plamo plamo2 plamo3 plm pockettts qwen qwen2 qwen2moe qwen2vl qwen3 qwen35 qwen35moe
    qwen3moe qwen3next qwen3tts qwen3vl qwen3vlmoe qwen4exp refact rnd1 rwkv6 rwkv6qwen2
    rwkv7 seed_oss smallthinker smollm3 spark2_5 stablelm starcoder starcoder2 step35 t5
    t5encoder talkie wavtokenizer-dec xverse
    """.split()
)
# "clip" marks multimodal projector files, which llama.cpp loads only next to a text model.
LLAMA_CPP_NOT_STANDALONE = frozenset({"clip"})
# bitnet.cpp's I2_S (its type id 36) is not a type of upstream ggml.
LLAMA_CPP_UNSUPPORTED_GGML_TYPES = frozenset({"I2_S"})
# The feed-forward activation llama.cpp's graph runs, per architecture lockstep converts to, whatever
# the file says (llama.cpp reads no activation key): build_ffn(..., LLM_FFN_SILU, LLM_FFN_PAR, il) in
# src/models/llama.cpp, qwen2.cpp and bitnet.cpp of llama-cpp-python 0.3.36 (qwen3.cpp and phi3.cpp
# SiLU too, gemma3.cpp LLM_FFN_GELU: tanh GELU through ggml's float16 table). BitNet-2B-4T's squared
# ReLU has no graph there, although llama.cpp's converter writes it as "bitnet".
LLAMA_CPP_FFN_ACTIVATIONS = {"llama": "silu", "qwen2": "silu", "bitnet": "silu", "qwen3": "silu", "phi3": "silu",
                             "gemma3": "gelu_pytorch_tanh"}

# --- hf: transformers in float32 --------------------------------------------------------------
# general.architecture values transformers' GGUF loader accepts (GGUF_SUPPORTED_ARCHITECTURES in
# transformers.modeling_gguf_pytorch_utils, in llama.cpp's spelling: it maps qwen2moe to
# qwen2_moe, gpt-oss to gpt_oss, ... itself). tests/test_route.py checks this against transformers.
TRANSFORMERS_GGUF_ARCHITECTURES = frozenset(
    """
    llama mistral qwen2 qwen2moe gpt-oss lfm2 qwen3 qwen3moe falcon phi3 bloom t5 t5encoder
    stablelm gpt2 starcoder2 mamba nemotron gemma2 gemma3 gemma4 deci minimax-m2
    """.split()
)
# Tensor types transformers can dequantize (it calls gguf.quants.dequantize).
TRANSFORMERS_GGML_TYPES = frozenset(
    """
    F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K TQ1_0 TQ2_0 MXFP4 NVFP4
    IQ2_XXS IQ2_XS IQ2_S IQ3_XXS IQ3_S IQ1_S IQ1_M IQ4_NL IQ4_XS
    """.split()
)
