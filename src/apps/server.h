// emot5's HTTP server over one loaded classifier (Boost.Beast on Asio: event-driven, so slow or
// idle connections hold no thread). Routes (apps/http_api.h has their bodies):
//   POST /predict, POST /               TEI's classification API
//   POST /hf, POST /models/{name}       the Hugging Face Inference API (huggingface_hub's client)
//   POST /classify                      emot5's own {"text"} / {"texts"}
//   GET  /info                          the model, its labels and the server's limits
//   GET  /health                        200 when ready, 503 while loading or draining (no key)
//   GET  /metrics                       Prometheus text format (no key)
//   GET  /                              a page for people
// Concurrent requests share forward passes, at most `passes` at once (apps/batcher.h). Requests
// beyond max_concurrent_requests get 429 at once. SIGINT or SIGTERM: stop accepting, 503 on
// /health, finish the requests in flight, return. apps/cmd_serve.cpp holds the command's options.
#pragma once
#include <cstddef>
#include <string>

#include "emot5/emot5.h"

namespace emot5::app {

struct ServeOptions {
  std::string model_dir;    // resolved
  ClassifierOptions clf;    // clf.threads: per pass (0: an equal share of the cores)
  std::string host = "127.0.0.1", cors, api_key;
  int port = 8080;          // 0: any free port, printed at start
  size_t passes = 0;        // 0: one per 4 cores, at least 2
  bool no_batching = false; // every request alone in its own pass
  size_t max_concurrent_requests = 512;
  size_t max_client_batch_size = 32;  // TEI and HF routes
  size_t max_texts = 1024;            // /classify
  size_t payload_limit = 2u << 20;    // bytes of a request body
  size_t connections = 1024;          // open connections at most; more are answered 503 and closed
  bool auto_truncate = true;
  double request_timeout_s = 10;      // to send a whole request (headers and body), or take an answer
  double drain_timeout_s = 30;        // on SIGTERM, the longest wait for the requests in flight
  int io_threads = 2;                 // threads reading and writing connections
  bool log = false;
};

// Listens, loads the model and serves until SIGINT or SIGTERM. Returns 0 after a clean stop;
// throws when it cannot listen (a taken port says "address in use") or load the model.
int serve(const ServeOptions& o);

}  // namespace emot5::app
