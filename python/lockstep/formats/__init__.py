"""File formats: GGUF and safetensors readers (zero-copy views), ggml tensor types, quantization."""
