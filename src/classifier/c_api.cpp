// emot5's C interface (include/emot5/emot5_c.h) over emot5::Classifier. No exception crosses it.
#include "emot5/emot5_c.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <exception>
#include <string>
#include <vector>

#include "emot5/emot5.h"
#include "io/utf8.h"

struct emot5_classifier {
  emot5::Classifier clf;
};

namespace {

void set_error(char* err, size_t err_size, const std::string& message) {
  if (!err || err_size == 0) return;
  const size_t n = std::min(message.size(), err_size - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

}  // namespace

extern "C" {

emot5_options emot5_default_options(void) {
  const emot5::ClassifierOptions d;
  return emot5_options{d.threads, d.max_input_tokens, d.batch_size, nullptr};
}

emot5_classifier* emot5_load(const char* model_dir, const emot5_options* options, char* err, size_t err_size) {
  set_error(err, err_size, "");
  try {
    emot5::ClassifierOptions o;
    o.generate = false;  // only the labels' probabilities are returned
    if (options) {
      if (options->threads < 0 || options->max_input_tokens < 1 || options->batch_size < 1)
        throw std::invalid_argument("emot5_load: threads must be >= 0, max_input_tokens and batch_size >= 1");
      o.threads = options->threads;
      o.max_input_tokens = options->max_input_tokens;
      o.batch_size = options->batch_size;
      if (options->precision) o.precision = options->precision;
    }
    const std::string dir = model_dir ? std::string(model_dir) : emot5::default_model_dir();
    return new emot5_classifier{emot5::Classifier::load(dir, o)};
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "emot5_load: unknown error");
  }
  return nullptr;
}

void emot5_free(emot5_classifier* clf) { delete clf; }

int emot5_num_labels(const emot5_classifier* clf) {
  return clf ? static_cast<int>(clf->clf.labels().size()) : 0;
}

const char* emot5_label(const emot5_classifier* clf, int i) {
  if (!clf || i < 0 || static_cast<size_t>(i) >= clf->clf.labels().size()) return nullptr;
  return clf->clf.labels()[static_cast<size_t>(i)].c_str();
}

const char* emot5_model_dir(const emot5_classifier* clf) { return clf ? clf->clf.model_dir().c_str() : nullptr; }

int emot5_classify(const emot5_classifier* clf, const char* const* texts, size_t n, int* labels,
                   float* probabilities, int* truncated, char* err, size_t err_size) {
  set_error(err, err_size, "");
  try {
    if (!clf) throw std::invalid_argument("emot5_classify: the classifier is NULL");
    if (n > 0 && !texts) throw std::invalid_argument("emot5_classify: texts is NULL");
    std::vector<std::string> in;
    in.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!texts[i]) throw std::invalid_argument("emot5_classify: text " + std::to_string(i) + " is NULL");
      in.emplace_back(texts[i]);
      const size_t bad = emot5::find_invalid_utf8(in.back());
      if (bad != std::string::npos)
        throw emot5::Error("emot5_classify: text " + std::to_string(i) + " is not valid UTF-8 (byte " +
                           std::to_string(bad) + ")");
    }
    const auto preds = clf->clf.classify_batch(in);
    const size_t k = clf->clf.labels().size();
    for (size_t i = 0; i < preds.size(); ++i) {
      if (labels) labels[i] = preds[i].label_index;
      if (probabilities) std::copy(preds[i].probabilities.begin(), preds[i].probabilities.end(), probabilities + i * k);
      if (truncated) truncated[i] = preds[i].truncated ? 1 : 0;
    }
    return 0;
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "emot5_classify: unknown error");
  }
  return -1;
}

}  // extern "C"
