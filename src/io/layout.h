// The parameter names and shapes of T5ForConditionalGeneration for a config: the safetensors
// keys, verbatim. Used to validate checkpoints, build the formula model and save trained ones.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "io/config.h"

namespace emot5 {

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// In HF's order of model.named_parameters(); lm_head.weight only when the head is untied.
std::vector<ParamSpec> t5_parameter_specs(const T5Config& c);

}  // namespace emot5
