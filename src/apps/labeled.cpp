// Classifying labeled rows (see labeled.h).
#include "apps/labeled.h"

#include <algorithm>

#include "io/progress.h"

namespace emot5::app {

std::vector<Prediction> classify_rows(const Classifier& clf, const Dataset& ds, const char* what) {
  std::vector<Prediction> out;
  out.reserve(ds.rows.size());
  Progress progress(what, ds.rows.size());
  const size_t chunk = 512;
  for (size_t s = 0; s < ds.rows.size(); s += chunk) {
    std::vector<std::string> texts;
    for (size_t i = s; i < std::min(ds.rows.size(), s + chunk); ++i) texts.push_back(ds.rows[i].text);
    for (auto& p : clf.classify_batch(texts)) out.push_back(std::move(p));
    progress.add(texts.size());
  }
  progress.finish();
  return out;
}

EvalReport evaluate_predictions(const std::vector<std::string>& labels, const Dataset& ds,
                                const std::vector<Prediction>& preds, bool generated) {
  std::vector<int> gold, pred;
  std::vector<float> conf, gold_prob;
  int non_label = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    gold.push_back(ds.rows.at(i).label);
    pred.push_back(preds[i].label_index);
    conf.push_back(preds[i].probabilities.at(static_cast<size_t>(preds[i].label_index)));
    gold_prob.push_back(preds[i].probabilities.at(static_cast<size_t>(gold.back())));
    if (generated && std::find(labels.begin(), labels.end(), preds[i].generated) == labels.end()) ++non_label;
  }
  return evaluate(labels, gold, pred, conf, generated ? non_label : -1, gold_prob);
}

}  // namespace emot5::app
