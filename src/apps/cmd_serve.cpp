// emot5 serve: the command-line options of the HTTP server (apps/server.h).
#include <cstdlib>

#include "apps/commands.h"
#include "apps/server.h"

namespace emot5::app {

void add_serve(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the classifier over HTTP: TEI's /predict, the HF Inference API's /hf, /classify, a page");
  struct Opts {
    ModelOptions m;
    ServeOptions s;
    bool generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  ServeOptions& s = o->s;
  cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free port, printed at start)")->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", s.api_key,
                  "Every model route requires 'Authorization: Bearer KEY' (default: $EMOT5_API_KEY; /health, "
                  "/metrics and the page need none)");
  cmd->add_option("--max-concurrent-requests", s.max_concurrent_requests,
                  "Model requests in flight at most; more are answered 429 at once")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-client-batch-size", s.max_client_batch_size, "Most inputs in one /predict or /hf request")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-texts", s.max_texts, "Most texts in one /classify request")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--payload-limit", s.payload_limit, "Largest request body in bytes")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--auto-truncate,!--no-auto-truncate", s.auto_truncate,
                "Truncate texts over --max-input-tokens when a request does not say (TEI's \"truncate\": null)")
      ->capture_default_str();
  cmd->add_option("--request-timeout", s.request_timeout_s,
                  "Seconds a client has to send a whole request, or to take an answer; idle connections close after it")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--connections", s.connections, "Open connections at most; more are answered 503 and closed")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--cors", s.cors,
                  "Allow browser pages from this origin (e.g. http://localhost:3000, or *) to call the server");
  cmd->add_option("--passes", s.passes,
                  "Forward passes run at once (0: one per 4 cores, at least 2), each on --threads threads (0: an "
                  "equal share of the cores); requests that arrive while all are busy are joined into the next")
      ->capture_default_str();
  cmd->add_flag("--no-batching", s.no_batching, "Every request runs alone in its own pass, not joined with others");
  add_generate_flags(cmd, &o->generate, "Also run greedy generation: a 'generated' field in /classify's answers");
  cmd->add_flag("--log", s.log, "One line per request on stderr: time, client, method, path, status, milliseconds");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      ServeOptions so = o->s;
      so.model_dir = o->m.resolve();
      so.clf = o->m.clf;
      so.clf.generate = o->generate;
      if (so.api_key.empty())
        if (const char* key = std::getenv("EMOT5_API_KEY")) so.api_key = key;
      return serve(so);
    };
  });
}

}  // namespace emot5::app
