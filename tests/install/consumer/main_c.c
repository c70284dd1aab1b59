/* A C program on the installed libemot5_c.so: prints the model it loaded, then each argument's
 * label and probability sum. */
#include <emot5/emot5_c.h>
#include <stdio.h>

int main(int argc, char** argv) {
  char err[512];
  emot5_classifier* clf = emot5_load(NULL, NULL, err, sizeof err);
  if (!clf) {
    fprintf(stderr, "error: %s\n", err);
    return 1;
  }
  printf("model %s\n", emot5_model_dir(clf));
  const int k = emot5_num_labels(clf);
  for (int i = 1; i < argc; ++i) {
    int label;
    float probs[64];
    const char* text = argv[i];
    if (k > 64 || emot5_classify(clf, &text, 1, &label, probs, NULL, err, sizeof err) != 0) {
      fprintf(stderr, "error: %s\n", err);
      emot5_free(clf);
      return 1;
    }
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += probs[j];
    printf("%s %.6f\n", emot5_label(clf, label), sum);
  }
  emot5_free(clf);
  return 0;
}
