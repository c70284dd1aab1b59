// Error types of the library: emot5::Error (public, include/emot5/error.h) for files and models,
// std::invalid_argument for caller mistakes.
#pragma once
#include <stdexcept>
#include <string>

#include "emot5/error.h"
