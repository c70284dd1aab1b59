// The HTTP server (see server.h).
#include "apps/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <thread>
#include <unistd.h>

#include "apps/batcher.h"
#include "apps/output.h"
#include "io/utf8.h"
#include "kernels/threads.h"

namespace emot5::app {

namespace {

struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& j) {
  res.status = status;
  // Invalid UTF-8 (quoted back from a bad request) becomes U+FFFD rather than an exception.
  res.set_content(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n", "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  nlohmann::ordered_json j;
  j["error"] = message;
  send_json(res, status, j);
}

std::string checked_text(const nlohmann::json& v, const std::string& where) {
  if (!v.is_string()) throw BadRequest(where + " is not a string");
  std::string s = v.get<std::string>();
  if (find_invalid_utf8(s) != std::string::npos) throw BadRequest(where + " is not valid UTF-8");
  return s;
}

using ClassifyTexts = std::function<std::vector<Prediction>(std::vector<std::string>)>;

// POST /classify: {"text"} -> one prediction, {"texts"} -> {"predictions": [...]}.
void handle_classify(const Classifier& clf, const ClassifyTexts& classify, const std::string& request_body,
                     size_t max_texts, bool generated, httplib::Response& res) {
  try {
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(request_body);
    } catch (const nlohmann::json::parse_error& e) {
      throw BadRequest(std::string("malformed JSON: ") + e.what());
    }
    if (!body.is_object()) throw BadRequest("the body is not a JSON object");
    const bool one = body.contains("text");
    if (one == body.contains("texts")) throw BadRequest("give either \"text\" or \"texts\"");
    if (one) {
      const auto p = classify({checked_text(body["text"], "\"text\"")});
      send_json(res, 200, prediction_json(p.at(0), clf.labels(), generated));
      return;
    }
    const auto& arr = body["texts"];
    if (!arr.is_array()) throw BadRequest("\"texts\" is not an array");
    if (arr.size() > max_texts)
      throw BadRequest("\"texts\" holds " + std::to_string(arr.size()) + " texts, more than --max-texts " +
                       std::to_string(max_texts));
    std::vector<std::string> texts;
    for (size_t i = 0; i < arr.size(); ++i) texts.push_back(checked_text(arr[i], "\"texts\"[" + std::to_string(i) + "]"));
    nlohmann::ordered_json preds = nlohmann::ordered_json::array();
    for (const auto& p : classify(std::move(texts))) preds.push_back(prediction_json(p, clf.labels(), generated));
    nlohmann::ordered_json j;
    j["predictions"] = std::move(preds);
    send_json(res, 200, j);
  } catch (const BadRequest& e) {
    send_error(res, 400, e.what());
  } catch (const std::exception& e) {
    send_error(res, 500, e.what());
  }
}

}  // namespace

namespace {

// The connection side: body limit, no Nagle delay, a thread per connection, CORS, JSON errors and
// the request log.
void configure(httplib::Server& svr, const ServeOptions& o) {
  svr.set_payload_max_length(o.max_body);
  // Without it, the response's headers and body leave in two small writes and Nagle's
  // algorithm holds the second for the client's delayed ACK: about 40 ms on every request.
  svr.set_tcp_nodelay(true);
  // httplib's default pool is max(8, cores - 1) threads and each keep-alive connection holds
  // one, so a ninth client waited for a connection to close (every 5 requests) and could not
  // join a pass: latency tails of hundreds of ms. Waiting threads are cheap; the model runs on
  // the batcher's --passes threads (or, with --no-batching, on these).
  const size_t connections = o.connections;
  svr.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
  svr.set_keep_alive_max_count(1000);
  if (!o.cors.empty()) {
    // Every answer names the origin; a browser's preflight for a JSON POST gets its OK.
    svr.set_default_headers({{"Access-Control-Allow-Origin", o.cors}, {"Vary", "Origin"}});
    svr.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Content-Type");
      res.set_header("Access-Control-Max-Age", "86400");
      res.status = 204;
    });
  }
  const size_t max_body = o.max_body;
  svr.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      send_error(res, 404, "no such endpoint: " + req.method + " " + req.path);
    else if (res.status == 413)
      send_error(res, 413, "request body larger than --max-body " + std::to_string(max_body) + " bytes");
    else
      send_error(res, res.status, "HTTP " + std::to_string(res.status));
  });
  if (o.log) {
    // A request is read, handled and logged on one thread of the server's pool.
    static thread_local std::chrono::steady_clock::time_point started;
    svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      started = std::chrono::steady_clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "%s %s %d %.2f ms\n", req.method.c_str(), req.path.c_str(), res.status, ms);
    });
  }
}

// The model behind the routes: the classifier and, unless --no-batching, the batcher that joins
// concurrent requests into shared passes.
struct Backend {
  std::string model_dir;
  PassPlan plan;
  Classifier clf;
  std::unique_ptr<Batcher> batcher;
  ClassifyTexts classify;
};

void add_routes(httplib::Server& svr, const Backend& b, size_t max_texts) {
  svr.Get("/health", [&b](const httplib::Request&, httplib::Response& res) {
    nlohmann::ordered_json j;
    j["status"] = "ok";
    j["model"] = b.model_dir;
    j["labels"] = b.clf.labels();
    if (b.batcher) {
      const Batcher::Stats st = b.batcher->stats();
      j["served"] = {{"requests", st.requests}, {"texts", st.texts}, {"passes", st.passes}, {"waiting", st.waiting}};
      j["compute"] = {{"passes_at_once", b.plan.passes}, {"threads_per_pass", b.plan.threads}};
    }
    send_json(res, 200, j);
  });
  svr.Post("/classify", [&b, max_texts](const httplib::Request& req, httplib::Response& res) {
    handle_classify(b.clf, b.classify, req.body, max_texts, b.clf.options().generate, res);
  });
}

// Serves until one of `stop_signals` arrives; false when the server ended with an error.
bool listen_until_signalled(httplib::Server& svr, const sigset_t& stop_signals) {
  std::atomic<bool> listening_ended{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // stop() does nothing before the server runs: a signal right at start waits for it.
    while (!svr.is_running() && !listening_ended) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    svr.stop();
  });
  const bool ok = svr.listen_after_bind();
  listening_ended = true;
  ::kill(::getpid(), SIGTERM);  // wakes the stopper if the server ended on its own
  stopper.join();
  return ok;
}

}  // namespace

int serve(ServeOptions o) {
  // SIGINT / SIGTERM go to one thread that stops the server: blocked here, before any other thread
  // exists (the model's, the batcher's, the server's), so that they inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Joined passes share the cores; --no-batching keeps --threads for each request's own pass.
  const PassPlan plan = plan_passes(kernels::available_cores(), o.passes, o.clf.threads);
  if (!o.no_batching) o.clf.threads = plan.threads;
  Backend b{o.model_dir, plan, Classifier::load(o.model_dir, o.clf), nullptr, nullptr};
  auto run_model = [&b](const std::vector<std::string>& texts) { return b.clf.classify_batch(texts); };
  b.classify = run_model;
  if (!o.no_batching) {
    b.batcher = std::make_unique<Batcher>(run_model, static_cast<size_t>(b.clf.options().batch_size), plan.passes);
    b.classify = [&b](std::vector<std::string> texts) { return b.batcher->classify(std::move(texts)); };
  }

  httplib::Server svr;
  configure(svr, o);
  add_routes(svr, b, o.max_texts);
  const int port = o.port == 0 ? svr.bind_to_any_port(o.host) : (svr.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port));
  const int pass_threads = b.batcher ? plan.threads : kernels::threads_for(b.clf.options().threads);
  const std::string compute = (b.batcher ? "up to " + std::to_string(plan.passes) + " passes at once, "
                                         : std::string("a pass per request, ")) +
                              std::to_string(pass_threads) + (pass_threads == 1 ? " thread" : " threads") + " each";
  std::fprintf(stderr, "emot5 serve: listening on http://%s:%d (model %s; POST /classify, GET /health; %s)\n",
               o.host.c_str(), port, o.model_dir.c_str(), compute.c_str());
  std::fflush(stderr);
  if (!listen_until_signalled(svr, stop_signals)) throw std::runtime_error("the server stopped with an error");
  std::fprintf(stderr, "emot5 serve: stopped\n");
  return 0;
}

}  // namespace emot5::app
