// Error types of the library. Files and models raise emot5::Error (a runtime_error) whose
// message names the file, tensor, field or line; caller mistakes raise std::invalid_argument.
#pragma once
#include <stdexcept>
#include <string>

namespace emot5 {

// Also declared, identically, by the public header include/emot5/emot5.h.
#ifndef EMOT5_ERROR_DEFINED
#define EMOT5_ERROR_DEFINED
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
#endif

}  // namespace emot5
