// emot5's Python binding: the extension module emot5._emot5 under the package python/emot5/.
// It binds the C++ Classifier and the trend periods of `emot5 trends`, converts arguments at the
// boundary only, and releases the GIL around every classification. The transformers- and
// scikit-learn-shaped API is python/emot5/__init__.py's.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "emot5/emot5.h"
#include "eval/trends.h"

namespace py = pybind11;

namespace {

PyObject* g_error = nullptr;        // emot5.Error: every error of emot5
PyObject* g_input_error = nullptr;  // emot5.InputError(Error, ValueError): a caller's or a text's mistake
PyObject* g_model_error = nullptr;  // emot5.ModelError(Error, RuntimeError): models and files

// (n, labels) float32: each text's probabilities in labels() order.
py::array_t<float> probabilities(const emot5::Classifier& clf, const std::vector<std::string>& texts, int batch_size) {
  std::vector<emot5::Prediction> preds;
  {
    py::gil_scoped_release unlocked;
    preds = batch_size > 0 ? clf.classify_batch(texts, batch_size) : clf.classify_batch(texts);
  }
  const auto n = static_cast<py::ssize_t>(preds.size()), L = static_cast<py::ssize_t>(clf.labels().size());
  py::array_t<float> out({n, L});
  auto w = out.mutable_unchecked<2>();
  for (py::ssize_t i = 0; i < n; ++i)
    for (py::ssize_t l = 0; l < L; ++l) w(i, l) = preds[static_cast<size_t>(i)].probabilities[static_cast<size_t>(l)];
  return out;
}

}  // namespace

PYBIND11_MODULE(_emot5, m) {
  m.doc() = "emot5's C++ core (use the package emot5)";
  g_error = PyErr_NewExceptionWithDoc("emot5.Error", "Every error emot5 raises.", PyExc_Exception, nullptr);
  py::object input_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_ValueError));
  py::object model_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_RuntimeError));
  g_input_error = PyErr_NewExceptionWithDoc("emot5.InputError", "Bad input: a text, an option or a timestamp.",
                                            input_bases.ptr(), nullptr);
  g_model_error = PyErr_NewExceptionWithDoc("emot5.ModelError", "A model directory or file that cannot be used.",
                                            model_bases.ptr(), nullptr);
  m.attr("Error") = py::handle(g_error);
  m.attr("InputError") = py::handle(g_input_error);
  m.attr("ModelError") = py::handle(g_model_error);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(g_input_error, e.what());
    } catch (const std::out_of_range& e) {
      PyErr_SetString(g_input_error, e.what());
    } catch (const std::bad_alloc&) {
      throw;  // pybind11 makes it a MemoryError
    } catch (const std::exception& e) {
      PyErr_SetString(g_model_error, e.what());
    }
  });

  py::class_<emot5::Classifier>(m, "Classifier")
      .def(py::init([](std::optional<std::string> model, const std::string& precision, int threads, int batch_size,
                       int max_input_tokens) {
             emot5::ClassifierOptions o;
             o.precision = precision;
             o.threads = threads;
             o.batch_size = batch_size;
             o.max_input_tokens = max_input_tokens;
             const std::string dir = model ? *model : emot5::default_model_dir();
             py::gil_scoped_release unlocked;
             return emot5::Classifier::load(dir, o);
           }),
           py::arg("model") = py::none(), py::arg("precision") = "f32", py::arg("threads") = 0,
           py::arg("batch_size") = 32, py::arg("max_input_tokens") = 512)
      .def("probabilities", &probabilities, py::arg("texts"), py::arg("batch_size") = 0,
           "(len(texts), len(labels)) float32 probabilities; releases the GIL while it computes")
      .def(
          "generate",
          [](const emot5::Classifier& c, const std::vector<std::string>& texts, int max_new_tokens) {
            std::vector<emot5::Generation> gens;
            {
              py::gil_scoped_release unlocked;
              gens = c.generate(texts, max_new_tokens);
            }
            std::vector<std::string> out;
            out.reserve(gens.size());
            for (auto& g : gens) out.push_back(std::move(g.text));
            return out;
          },
          py::arg("texts"), py::arg("max_new_tokens") = 8,
          "greedy generation's text for each text (what emot5 classify --generate writes as \"generated\")")
      .def_property_readonly("labels", &emot5::Classifier::labels)
      .def_property_readonly("model_dir", &emot5::Classifier::model_dir)
      .def_property_readonly("precision", [](const emot5::Classifier& c) { return c.options().precision; })
      .def_property_readonly("threads", [](const emot5::Classifier& c) { return c.options().threads; })
      .def_property_readonly("batch_size", [](const emot5::Classifier& c) { return c.options().batch_size; })
      .def_property_readonly("max_input_tokens", [](const emot5::Classifier& c) { return c.options().max_input_tokens; });

  m.def("default_model_dir", &emot5::default_model_dir);

  // Period keys of timestamps as `emot5 trends` makes them: ISO 8601 strings or Unix times.
  m.def(
      "period_keys",
      [](const std::vector<std::string>& stamps, const std::string& period, int64_t unix_per_second) {
        const emot5::Period p = emot5::parse_period(period);
        std::vector<std::string> keys;
        keys.reserve(stamps.size());
        for (size_t i = 0; i < stamps.size(); ++i) {
          try {
            keys.push_back(emot5::period_key(emot5::parse_timestamp(stamps[i], unix_per_second), p));
          } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("timestamp " + std::to_string(i) + " ('" + stamps[i] + "'): " + e.what());
          }
        }
        return keys;
      },
      py::arg("timestamps"), py::arg("period"), py::arg("unix_per_second") = 1);

  // The trend table of `emot5 trends` from (period key, label index, count) triples: the periods
  // in time order (every period from the first to the last unless skip_empty_periods) and their
  // counts, (periods, labels) int64.
  m.def(
      "trend_counts",
      [](const std::vector<std::string>& keys, const std::vector<int>& label_index, const std::vector<int64_t>& counts,
         const std::vector<std::string>& labels, const std::string& period, bool skip_empty_periods) {
        if (keys.size() != label_index.size() || keys.size() != counts.size())
          throw std::invalid_argument("trend_counts: keys, label_index and counts differ in length");
        emot5::TrendTable table(labels);
        for (size_t i = 0; i < keys.size(); ++i) table.add(keys[i], label_index[i], counts[i]);
        if (!skip_empty_periods && table.total() > 0) table.fill_gaps(emot5::parse_period(period));
        std::vector<std::string> periods;
        py::array_t<int64_t> out({static_cast<py::ssize_t>(table.counts().size()), static_cast<py::ssize_t>(labels.size())});
        auto w = out.mutable_unchecked<2>();
        py::ssize_t r = 0;
        for (const auto& [key, row] : table.counts()) {
          periods.push_back(key);
          for (size_t l = 0; l < labels.size(); ++l) w(r, static_cast<py::ssize_t>(l)) = row.empty() ? 0 : row[l];
          ++r;
        }
        return py::make_tuple(periods, out);
      },
      py::arg("keys"), py::arg("label_index"), py::arg("counts"), py::arg("labels"), py::arg("period"),
      py::arg("skip_empty_periods") = false);
}
