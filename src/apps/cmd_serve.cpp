// emot5 serve: the classifier over HTTP (cpp-httplib), for chatbots and services.
//   POST /classify  {"text": "..."}            -> {"label", "scores", ...}
//   POST /classify  {"texts": ["...", ...]}    -> {"predictions": [{"label", "scores", ...}, ...]}
//   GET  /health                               -> {"status": "ok", "model", "labels", "served"}
// Bad requests get 400 and {"error": "..."}; SIGINT or SIGTERM stop it after the requests in flight.
// Concurrent requests share forward passes, at most --passes at once (apps/batcher.h), unless
// --no-batching.
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
#include "apps/commands.h"
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

void add_serve(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("serve", "Serve the classifier over HTTP: POST /classify, GET /health");
  struct Opts {
    ModelOptions m;
    std::string host = "127.0.0.1", cors;
    int port = 8080;
    size_t max_texts = 1024, max_body = 8u << 20, connections = 64, passes = 0;
    bool no_generate = false, log = false, no_batching = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  cmd->add_option("--host", o->host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port, printed at start)")->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--max-texts", o->max_texts, "Most texts in one request")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--connections", o->connections,
                  "Connections served at once (a thread each, mostly waiting for the model); more wait to be accepted")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--cors", o->cors,
                  "Allow browser pages from this origin (e.g. http://localhost:3000, or *) to call the server");
  cmd->add_option("--passes", o->passes,
                  "Forward passes run at once (0: one per 4 cores, at least 2), each on --threads threads (0: an "
                  "equal share of the cores); requests that arrive while all are busy are joined into the next")
      ->capture_default_str();
  cmd->add_flag("--no-batching", o->no_batching,
                "Each request runs its own forward pass on the server's threads, not joined with others");
  cmd->add_flag("--no-generate", o->no_generate, "Skip greedy generation (faster; no 'generated' field)");
  cmd->add_flag("--log", o->log, "One line per request on stderr: method, path, status, milliseconds");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      // SIGINT / SIGTERM go to one thread that stops the server: blocked here, before any other thread
      // exists (the model's, the batcher's, the server's), so that they inherit the mask.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGINT);
      sigaddset(&stop_signals, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

      o->m.clf.generate = !o->no_generate;
      // Joined passes share the cores; --no-batching keeps --threads for each request's own pass.
      const PassPlan plan = plan_passes(kernels::available_cores(), o->passes, o->m.clf.threads);
      if (!o->no_batching) o->m.clf.threads = plan.threads;
      const std::string model_dir = o->m.resolve();
      const Classifier clf = Classifier::load(model_dir, o->m.clf);
      const bool generated = clf.options().generate;
      auto run_model = [&clf](const std::vector<std::string>& texts) { return clf.classify_batch(texts); };
      std::unique_ptr<Batcher> batcher;
      ClassifyTexts classify = run_model;
      if (!o->no_batching) {
        batcher = std::make_unique<Batcher>(run_model, static_cast<size_t>(clf.options().batch_size), plan.passes);
        classify = [&batcher](std::vector<std::string> texts) { return batcher->classify(std::move(texts)); };
      }

      httplib::Server svr;
      svr.set_payload_max_length(o->max_body);
      // Without it, the response's headers and body leave in two small writes and Nagle's
      // algorithm holds the second for the client's delayed ACK: about 40 ms on every request.
      svr.set_tcp_nodelay(true);
      // httplib's default pool is max(8, cores - 1) threads and each keep-alive connection holds
      // one, so a ninth client waited for a connection to close (every 5 requests) and could not
      // join a pass: latency tails of hundreds of ms. Waiting threads are cheap; the model runs on
      // the batcher's --passes threads (or, with --no-batching, on these).
      const size_t connections = o->connections;
      svr.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
      svr.set_keep_alive_max_count(1000);
      if (!o->cors.empty()) {
        // Every answer names the origin; a browser's preflight for a JSON POST gets its OK.
        svr.set_default_headers({{"Access-Control-Allow-Origin", o->cors}, {"Vary", "Origin"}});
        svr.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
          res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
          res.set_header("Access-Control-Allow-Headers", "Content-Type");
          res.set_header("Access-Control-Max-Age", "86400");
          res.status = 204;
        });
      }
      svr.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
        nlohmann::ordered_json j;
        j["status"] = "ok";
        j["model"] = model_dir;
        j["labels"] = clf.labels();
        if (batcher) {
          const Batcher::Stats st = batcher->stats();
          j["served"] = {{"requests", st.requests}, {"texts", st.texts}, {"passes", st.passes}, {"waiting", st.waiting}};
          j["compute"] = {{"passes_at_once", plan.passes}, {"threads_per_pass", plan.threads}};
        }
        send_json(res, 200, j);
      });
      svr.Post("/classify", [&](const httplib::Request& req, httplib::Response& res) {
        handle_classify(clf, classify, req.body, o->max_texts, generated, res);
      });
      svr.set_error_handler([o](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        if (res.status == 404)
          send_error(res, 404, "no such endpoint: " + req.method + " " + req.path);
        else if (res.status == 413)
          send_error(res, 413, "request body larger than --max-body " + std::to_string(o->max_body) + " bytes");
        else
          send_error(res, res.status, "HTTP " + std::to_string(res.status));
      });
      if (o->log) {
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

      const int port = o->port == 0 ? svr.bind_to_any_port(o->host) : (svr.bind_to_port(o->host, o->port) ? o->port : -1);
      if (port < 0) throw std::runtime_error("cannot listen on " + o->host + ":" + std::to_string(o->port));
      const int pass_threads = batcher ? plan.threads : kernels::threads_for(clf.options().threads);
      const std::string compute = (batcher ? "up to " + std::to_string(plan.passes) + " passes at once, "
                                           : std::string("a pass per request, ")) +
                                  std::to_string(pass_threads) + (pass_threads == 1 ? " thread" : " threads") + " each";
      std::fprintf(stderr, "emot5 serve: listening on http://%s:%d (model %s; POST /classify, GET /health; %s)\n",
                   o->host.c_str(), port, model_dir.c_str(), compute.c_str());
      std::fflush(stderr);

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
      if (!ok) throw std::runtime_error("the server stopped with an error");
      std::fprintf(stderr, "emot5 serve: stopped\n");
      return 0;
    };
  });
}

}  // namespace emot5::app
