// Classifies its arguments with the built-in model through the installed library; prints the model
// directory, then per text the label and the probability sum.
#include <emot5/emot5.h>

#include <cstdio>
#include <numeric>

int main(int argc, char** argv) {
  try {
    const std::string dir = emot5::default_model_dir();
    const emot5::Classifier clf = emot5::Classifier::load(dir);
    std::printf("model %s\n", dir.c_str());
    for (int i = 1; i < argc; ++i) {
      const emot5::Prediction p = clf.classify(argv[i]);
      const float sum = std::accumulate(p.probabilities.begin(), p.probabilities.end(), 0.0f);
      std::printf("%s %.4f\n", p.label.c_str(), static_cast<double>(sum));
    }
  } catch (const emot5::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
