// emot5 serve: the command-line options of the HTTP server (apps/server.h).
#include "apps/commands.h"
#include "apps/server.h"

namespace emot5::app {

void add_serve(CLI::App& app, Runner* run) {
  auto* cmd = app.add_subcommand("serve", "Serve the classifier over HTTP: POST /classify, GET /health");
  struct Opts {
    ModelOptions m;
    ServeOptions s;
    bool no_generate = false;
  };
  auto o = std::make_shared<Opts>();
  o->m.add_to(cmd);
  ServeOptions& s = o->s;
  cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free port, printed at start)")->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--max-texts", s.max_texts, "Most texts in one request")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-body", s.max_body, "Largest request body in bytes")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--connections", s.connections,
                  "Connections served at once (a thread each, mostly waiting for the model); more wait to be accepted")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--cors", s.cors,
                  "Allow browser pages from this origin (e.g. http://localhost:3000, or *) to call the server");
  cmd->add_option("--passes", s.passes,
                  "Forward passes run at once (0: one per 4 cores, at least 2), each on --threads threads (0: an "
                  "equal share of the cores); requests that arrive while all are busy are joined into the next")
      ->capture_default_str();
  cmd->add_flag("--no-batching", s.no_batching,
                "Each request runs its own forward pass on the server's threads, not joined with others");
  cmd->add_flag("--no-generate", o->no_generate, "Skip greedy generation (faster; no 'generated' field)");
  cmd->add_flag("--log", s.log, "One line per request on stderr: method, path, status, milliseconds");
  cmd->callback([o, run] {
    *run = [o]() -> int {
      ServeOptions so = o->s;
      so.model_dir = o->m.resolve();
      so.clf = o->m.clf;
      so.clf.generate = !o->no_generate;
      return serve(std::move(so));
    };
  });
}

}  // namespace emot5::app
