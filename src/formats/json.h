// JSON for model files (safetensors headers, tokenizer.json, config.json): Boost.JSON.
#pragma once

#include <boost/json.hpp>
