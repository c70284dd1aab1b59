// emot5's HTTP server (cpp-httplib) over one loaded classifier, for chatbots and services:
//   POST /classify  {"text": "..."}            -> {"label", "scores", ...}
//   POST /classify  {"texts": ["...", ...]}    -> {"predictions": [{"label", "scores", ...}, ...]}
//   GET  /health                               -> {"status": "ok", "model", "labels", "served"}
// Bad requests get 400 and {"error": "..."}; SIGINT or SIGTERM stop it after the requests in flight.
// Concurrent requests share forward passes, at most `passes` at once (apps/batcher.h), unless
// no_batching. apps/cmd_serve.cpp holds its command-line options.
#pragma once
#include <cstddef>
#include <string>

#include "emot5/emot5.h"

namespace emot5::app {

struct ServeOptions {
  std::string model_dir;    // resolved
  ClassifierOptions clf;    // clf.threads: per pass (0: an equal share of the cores)
  std::string host = "127.0.0.1", cors;
  int port = 8080;          // 0: any free port, printed at start
  size_t max_texts = 1024, max_body = 8u << 20, connections = 64, passes = 0;
  bool log = false, no_batching = false;
};

// Loads the model, listens and serves until SIGINT or SIGTERM. Returns 0 after a clean stop;
// throws when it cannot load the model or listen.
int serve(ServeOptions o);

}  // namespace emot5::app
