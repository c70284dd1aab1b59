/* The C interface from C: usage: smoke MODEL_DIR. Classifies a few texts and checks what a C
 * caller relies on (labels in range, each row of probabilities summing to 1 with its label the
 * most probable, truncation flags), then that bad input comes back as an error message, not a
 * crash. Prints each text's label, then "ok"; exits 1 on the first failed check. */
#include <emot5/emot5_c.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "FAIL: %s: %s\n", what, detail);
  return 1;
}

int main(int argc, char** argv) {
  char err[512];
  if (argc != 2) return fail("usage", "smoke MODEL_DIR");
  emot5_options opt = emot5_default_options();
  opt.threads = 1;
  opt.max_input_tokens = 5; /* "i feel happy" is 5 tokens with eos: at the limit, not over */
  emot5_classifier* clf = emot5_load(argv[1], &opt, err, sizeof err);
  if (!clf) return fail("emot5_load", err);
  const int k = emot5_num_labels(clf);
  if (k < 2 || k > 16) return fail("emot5_num_labels", "out of range");
  if (emot5_label(clf, k) != NULL || emot5_label(clf, -1) != NULL) return fail("emot5_label", "out of range accepted");

  const char* texts[] = {"i feel happy", "i am so scared of the dark tonight and every night", ""};
  int labels[3], truncated[3];
  float probs[3 * 16];
  if (emot5_classify(clf, texts, 3, labels, probs, truncated, err, sizeof err) != 0) return fail("emot5_classify", err);
  for (int i = 0; i < 3; ++i) {
    double sum = 0;
    int best = 0;
    for (int j = 0; j < k; ++j) {
      sum += probs[i * k + j];
      if (probs[i * k + j] > probs[i * k + best]) best = j;
    }
    if (labels[i] < 0 || labels[i] >= k || best != labels[i] || fabs(sum - 1) > 1e-5)
      return fail("emot5_classify", texts[i]);
    printf("%s\t%s\n", texts[i], emot5_label(clf, labels[i]));
  }
  if (truncated[0] != 0 || truncated[1] != 1) return fail("truncated", "flags wrong for a 5-token limit");

  const char* bad[] = {"fine", "\xff\xfe"};
  if (emot5_classify(clf, bad, 2, labels, NULL, NULL, err, sizeof err) != -1 || !strstr(err, "text 1"))
    return fail("invalid UTF-8 accepted or not named", err);
  const char* null_text[] = {NULL};
  if (emot5_classify(clf, null_text, 1, NULL, NULL, NULL, err, sizeof err) != -1) return fail("NULL text", "accepted");
  char small[8];
  if (emot5_classify(clf, bad, 2, NULL, NULL, NULL, small, sizeof small) != -1 || strlen(small) != 7)
    return fail("err_size", "message not cut to the buffer");
  emot5_free(clf);

  if (emot5_load("/nonexistent/model", NULL, err, sizeof err) != NULL || !strstr(err, "/nonexistent/model"))
    return fail("missing model not named", err);
  emot5_free(NULL);
  printf("ok\n");
  return 0;
}
