// emot5 calibrate: temperature scaling folded into a copy of the model. The inverse temperature b
// that best fits a labeled file (usually the validation split) multiplies the decoder's final
// RMSNorm weight, the last op before the head, so every logit is b times what it was: argmax and
// greedy generation are unchanged, single-token labels' probabilities become softmax(b log p)
// exactly, and any T5 runtime (transformers included) reads the calibrated model as it is.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/labeled.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/file_util.h"
#include "io/safetensors.h"

namespace emot5::app {
namespace {

namespace fs = std::filesystem;

const char* const kScaled = "decoder.final_layer_norm.weight";

// Every tensor of `dir`'s checkpoint, kScaled multiplied by b in its own dtype.
MemoryTensors scaled_weights(const std::string& dir, double b) {
  const Checkpoint ck = open_checkpoint(dir);
  MemoryTensors out;
  bool found = false;
  for (const auto& name : ck.weights->names()) {
    const TensorView v = *ck.weights->find(name);
    if (name != kScaled) {
      out.add(name, v.dtype, v.shape, std::vector<std::byte>(v.data, v.data + v.nbytes));
      continue;
    }
    found = true;
    if (v.dtype != DType::F32 && v.dtype != DType::BF16 && v.dtype != DType::F16)
      throw Error(ck.weights->origin(name) + ": tensor '" + name + "' is " + dtype_name(v.dtype) +
                  "; calibrate writes F32, BF16 or F16 only");
    std::vector<float> w = to_f32(v);
    for (auto& x : w) x = static_cast<float>(x * b);
    out.add_rounded(name, v.dtype, v.shape, w);
  }
  if (!found) throw Error(dir + ": no tensor '" + kScaled + "' to carry the temperature");
  return out;
}

std::vector<std::vector<float>> probabilities(const std::vector<Prediction>& preds) {
  std::vector<std::vector<float>> p;
  p.reserve(preds.size());
  for (const auto& x : preds) p.push_back(x.probabilities);
  return p;
}

nlohmann::ordered_json scores(const EvalReport& r) {
  nlohmann::ordered_json j;
  j["nll"] = r.nll;
  j["ece"] = r.ece;
  j["accuracy"] = r.accuracy;
  j["macro_f1"] = r.macro_f1;
  return j;
}

}  // namespace

void add_calibrate(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand(
      "calibrate", "Fit a temperature to a labeled file (e.g. the validation split) and write a calibrated copy of the model");
  struct Opts {
    ModelOptions m;
    std::string data, out;
    DatasetOptions ds;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  cmd->add_option("--data,--input,-i", o->data, "Labeled data (.jsonl or .csv) to fit the temperature on")->required();
  cmd->add_option("--out", o->out, "Directory for the calibrated model (new, or empty)")->required();
  cmd->add_option("--text-field,--text-column", o->ds.text_field, "Field (or CSV column) holding the text")->capture_default_str();
  cmd->add_option("--label-field", o->ds.label_field, "Field (or CSV column) holding the label")->capture_default_str();
  cmd->add_flag("--skip-bad-rows", o->ds.skip_bad_rows, "Skip and count bad rows instead of stopping");
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      const std::string model_dir = o->m.resolve();
      std::error_code ec;
      if (fs::exists(o->out, ec) && !(fs::is_directory(o->out, ec) && fs::is_empty(o->out, ec)))
        throw std::invalid_argument("--out " + o->out + ": exists and is not an empty directory");
      o->m.clf.generate = false;
      const Classifier clf = Classifier::load(model_dir, o->m.clf);
      const Dataset ds = load_dataset(o->data, clf.labels(), o->ds);
      std::vector<int> gold;
      for (const auto& r : ds.rows) gold.push_back(r.label);

      const auto before = classify_rows(clf, ds, "calibrate");
      const double b = fit_inverse_temperature(probabilities(before), gold);
      const double bound = kMaxInverseTemperature;
      if (b <= 1.001 / bound || b >= 0.999 * bound)
        throw Error("calibrate: the best temperature for " + o->data + " lies at the search's bound (" +
                    std::to_string(1.0 / b) + "; 1/" + std::to_string(static_cast<int>(bound)) + " to " +
                    std::to_string(static_cast<int>(bound)) + "), as when " +
                    (b > 1 ? "every row is right" : "the labels look unrelated to the texts") +
                    "; nothing written. Fit on a larger held-out file such as the validation split");
      if (ds.rows.size() < 100)
        std::cerr << "warning: " << o->data << " has " << ds.rows.size()
                  << " rows; a temperature fitted on so few is unreliable\n";

      // Written beside --out and renamed into place once measured: a failed run leaves nothing.
      fs::path out = fs::path(o->out).lexically_normal();
      if (out.filename().empty()) out = out.parent_path();  // "DIR/"
      const fs::path tmp = out.string() + ".partial";
      fs::remove_all(tmp);
      fs::create_directories(tmp);
      for (const char* f : {"config.json", "generation_config.json", "spiece.model", "tokenizer.json",
                            "tokenizer_config.json", "special_tokens_map.json", "emot5.json"}) {
        const fs::path src = fs::path(model_dir) / f;
        if (fs::exists(src)) fs::copy_file(src, tmp / f);
      }
      write_safetensors((tmp / "model.safetensors").string(), scaled_weights(model_dir, b), {{"format", "pt"}});

      const Classifier calibrated = Classifier::load(tmp.string(), o->m.clf);
      const auto after = classify_rows(calibrated, ds, "check");
      const EvalReport r0 = evaluate_predictions(clf.labels(), ds, before, false);
      const EvalReport r1 = evaluate_predictions(clf.labels(), ds, after, false);
      size_t changed = 0;
      for (size_t i = 0; i < before.size(); ++i) changed += before[i].label_index != after[i].label_index;

      nlohmann::ordered_json j;
      j["temperature"] = 1.0 / b;
      j["scaled_tensor"] = kScaled;
      j["scale"] = b;
      j["model"] = model_dir;
      j["data"] = o->data;
      j["rows"] = ds.rows.size();
      j["bad_rows_skipped"] = ds.bad_rows;
      j["before"] = scores(r0);
      j["after"] = scores(r1);
      j["labels_changed"] = changed;
      if (!(r1.nll < r0.nll)) {
        fs::remove_all(tmp);
        throw Error("calibrate: temperature " + std::to_string(1.0 / b) + " does not lower the negative log-likelihood on " +
                    o->data + " (" + std::to_string(r0.nll) + " -> " + std::to_string(r1.nll) + "); nothing written");
      }
      write_file_atomic((tmp / "calibration.json").string(), j.dump(2) + "\n");
      if (fs::exists(out)) fs::remove(out);  // the empty directory checked above
      fs::rename(tmp, out);
      j["out"] = o->out;

      if (o->json) {
        std::cout << j.dump(2) << "\n";
        return 0;
      }
      char buf[160];
      std::cout << "model " << model_dir << "\ndata  " << o->data << " (" << ds.rows.size() << " rows";
      if (ds.bad_rows) std::cout << ", " << ds.bad_rows << " bad rows skipped";
      std::snprintf(buf, sizeof buf, ")\ntemperature %.4f (%s x %.4f)\n", 1.0 / b, kScaled, b);
      std::cout << buf;
      std::snprintf(buf, sizeof buf, "%-10s %9s %9s\n", "", "before", "after");
      std::cout << buf;
      for (const char* k : {"nll", "ece", "accuracy", "macro_f1"}) {
        std::snprintf(buf, sizeof buf, "%-10s %9.4f %9.4f\n", k, j["before"][k].get<double>(), j["after"][k].get<double>());
        std::cout << buf;
      }
      std::cout << "labels changed: " << changed << " of " << ds.rows.size() << "\nwrote " << o->out << "\n";
      return 0;
    };
  });
}

}  // namespace emot5::app
