// Classifying a labeled file's rows for the commands that score a model on it (eval, calibrate).
#pragma once
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/metrics.h"
#include "emot5/emot5.h"

namespace emot5::app {

// The predictions for ds.rows, in order, classified in chunks under a progress bar named `what`.
std::vector<Prediction> classify_rows(const Classifier& clf, const Dataset& ds, const char* what);

// The metrics of `preds` against ds's labels; with `generated`, greedy generations that are not a
// label are counted.
EvalReport evaluate_predictions(const std::vector<std::string>& labels, const Dataset& ds,
                                const std::vector<Prediction>& preds, bool generated);

}  // namespace emot5::app
