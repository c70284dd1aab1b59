// emot5::Error: what the library throws for files, models and texts. Its message names the
// file, tensor, field or line, and the expected and found values.
#pragma once
#include <stdexcept>

namespace emot5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace emot5
