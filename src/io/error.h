// Error types of the library. Files and models raise emot5::Error (a runtime_error) whose
// message names the file, tensor, field or line; caller mistakes raise std::invalid_argument.
#pragma once
#include <stdexcept>
#include <string>

namespace emot5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace emot5
