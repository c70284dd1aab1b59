// The HTTP server (see server.h): a listener, one Session per connection, and the routes. Each
// connection reads one request at a time within --request-timeout; model requests go to the
// Batcher, whose callback posts the answer back to the connection's strand.
#include "apps/server.h"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "apps/batcher.h"
#include "apps/http_api.h"
#include "apps/metrics.h"
#include "kernels/threads.h"

namespace emot5::app {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr const char* kVersion = "0.1.0";

// What every connection reads. clf, batcher and info are set once, before `ready`.
struct Shared {
  explicit Shared(const ServeOptions& options)
      : o(options),
        limits{options.max_client_batch_size, options.max_texts, options.auto_truncate, options.clf.max_input_tokens},
        plan(plan_passes(kernels::available_cores(), options.passes, options.clf.threads)),
        metrics(options.model_dir, options.clf.precision, kVersion) {}
  const ServeOptions& o;
  ApiLimits limits;
  PassPlan plan;
  Metrics metrics;
  std::unique_ptr<Classifier> clf;
  std::unique_ptr<Batcher> batcher;
  std::string info;
  std::atomic<bool> ready{false}, draining{false};
  std::atomic<size_t> in_flight{0}, connections{0};
};

enum class Route { Predict, Page, Hf, Classify, Info, Health, Metrics, None };

struct Match {
  Route route;
  const char* name;   // the metrics' route label: a fixed set
  const char* allow;  // the methods the path takes
};

Match match(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/") return {Route::Page, "/", "GET, POST"};
  if (path == "/predict") return {Route::Predict, "/predict", "POST"};
  if (path == "/hf") return {Route::Hf, "/hf", "POST"};
  if (path.size() > 8 && path.substr(0, 8) == "/models/") return {Route::Hf, "/models", "POST"};
  if (path == "/classify") return {Route::Classify, "/classify", "POST"};
  if (path == "/info") return {Route::Info, "/info", "GET"};
  if (path == "/health") return {Route::Health, "/health", "GET"};
  if (path == "/metrics") return {Route::Metrics, "/metrics", "GET"};
  return {Route::None, "other", ""};
}

// Equal in time that depends on the expected key's length only.
bool same_key(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^ static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  return diff == 0;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

Response json_response(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response error_response(int status, const std::string& type, const std::string& message) {
  return json_response(static_cast<http::status>(status), error_body(message, type));
}

std::string ms(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000.0 + 0.5)); }

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& sh) : stream_(std::move(socket)), sh_(sh) {
    ++sh_.connections;
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Session() { --sh_.connections; }
  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this())); }

 private:
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<long long>(sh_.o.request_timeout_s * 1000));
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(sh_.o.payload_limit);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(timeout());  // the whole request, headers and body, within the timeout
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    started_ = Clock::now();
    stream_.expires_never();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    method_ = "-";
    target_ = "-";
    keep_alive_ = false;  // after a read error the stream's position is lost
    if (ec == http::error::body_limit)
      return send(error_response(413, "validation", "the request body is larger than --payload-limit " +
                                                        std::to_string(sh_.o.payload_limit) + " bytes"),
                  "other");
    if (ec == http::error::header_limit)
      return send(error_response(431, "validation", "the request's headers are larger than 16384 bytes"), "other");
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return send(error_response(400, "validation", "malformed HTTP request: " + ec.message()), "other");
    if (ec) return close();
    handle(parser_->release());
  }

  void handle(Request req) {
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    const Match m = match(std::string_view(req.target().data(), req.target().size()));
    if (m.route == Route::None) return send(error_response(404, "not_found", "no such endpoint: " + method_ + " " + target_), m.name);
    if (req.method() == http::verb::options && !sh_.o.cors.empty()) {
      Response res{http::status::no_content, 11};
      res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
      res.set(http::field::access_control_allow_headers, "Content-Type, Authorization");
      res.set(http::field::access_control_max_age, "86400");
      return send(std::move(res), m.name);
    }
    const bool post = req.method() == http::verb::post, get = req.method() == http::verb::get;
    const std::string_view allow = m.allow;
    if (!((post && allow.find("POST") != std::string_view::npos) || (get && allow.find("GET") != std::string_view::npos))) {
      Response res = error_response(405, "validation", method_ + " is not allowed on " + target_ + " (allowed: " +
                                                           std::string(allow) + ")");
      res.set(http::field::allow, std::string(allow));
      return send(std::move(res), m.name);
    }
    if (post && req.find(http::field::content_length) == req.end() && !req.chunked())
      return send(error_response(411, "validation", "a POST needs a Content-Length header (or chunked encoding)"), m.name);
    switch (m.route) {
      case Route::Health: return send(health(), m.name);
      case Route::Metrics: {
        Response res{http::status::ok, 11};
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = sh_.metrics.render(sh_.in_flight, sh_.ready ? sh_.batcher->stats().waiting : 0);
        return send(std::move(res), m.name);
      }
      case Route::Page:
        if (get) {
          Response res{http::status::ok, 11};
          res.set(http::field::content_type, "text/html; charset=utf-8");
          res.body() = page_html();
          return send(std::move(res), m.name);
        }
        return model_request(req, Route::Predict, m.name);
      default: return model_request(req, m.route, m.name);
    }
  }

  Response health() const {
    if (!sh_.ready || sh_.draining) {
      const char* state = sh_.draining ? "draining" : "loading";
      Response res = error_response(503, "unhealthy", std::string("the server is ") + state);
      return res;
    }
    nlohmann::ordered_json j;
    j["status"] = "ok";
    j["model"] = sh_.o.model_dir;
    j["labels"] = sh_.clf->labels();
    const Batcher::Stats st = sh_.batcher->stats();
    j["served"] = {{"requests", st.requests}, {"texts", st.texts}, {"passes", st.passes}, {"waiting", st.waiting}};
    j["compute"] = {{"passes_at_once", sh_.plan.passes}, {"threads_per_pass", sh_.plan.threads}};
    return json_response(http::status::ok, j.dump() + "\n");
  }

  // Every route but /health, /metrics and the page: the key, the model's state, then the body.
  void model_request(const Request& req, Route route, const char* name) {
    if (!sh_.o.api_key.empty()) {
      const auto auth = req[http::field::authorization];
      const std::string_view given(auth.data(), auth.size());
      if (given.substr(0, 7) != "Bearer " || !same_key(given.substr(7), sh_.o.api_key)) {
        Response res = error_response(401, "auth", "this server needs its API key: send Authorization: Bearer KEY");
        res.set(http::field::www_authenticate, "Bearer");
        return send(std::move(res), name);
      }
    }
    if (!sh_.ready || sh_.draining)
      return send(error_response(503, "unhealthy", sh_.draining ? "the server is stopping" : "the model is loading"), name);
    if (route == Route::Info) return send(json_response(http::status::ok, sh_.info), name);
    ModelRequest call;
    try {
      call = route == Route::Hf         ? parse_hf(req.body(), sh_.limits)
             : route == Route::Classify ? parse_classify(req.body(), sh_.limits)
                                        : parse_tei(req.body(), sh_.limits);
    } catch (const ApiError& e) {
      return send(error_response(e.status, e.type, e.what()), name);
    }
    if (sh_.in_flight.fetch_add(1) >= sh_.o.max_concurrent_requests) {
      --sh_.in_flight;
      Response res = error_response(429, "overloaded", "the model is overloaded: more than --max-concurrent-requests " +
                                                           std::to_string(sh_.o.max_concurrent_requests) +
                                                           " requests in flight; retry later");
      res.set(http::field::retry_after, "1");
      return send(std::move(res), name);
    }
    counted_ = true;
    auto self = shared_from_this();
    auto shared_call = std::make_shared<ModelRequest>(std::move(call));
    sh_.batcher->submit(shared_call->texts, {shared_call->raw_scores, shared_call->generate},
                        [self, shared_call, name](std::vector<Prediction> preds, std::exception_ptr error,
                                                  const Batcher::Timing& t) {
                          self->answer_model(*shared_call, std::move(preds), error, t, name);
                        });
  }

  // On a Batcher worker: the answer, then its write on this connection's strand.
  void answer_model(const ModelRequest& call, std::vector<Prediction> preds, std::exception_ptr error,
                    const Batcher::Timing& t, const char* name) {
    sh_.metrics.model_request(t.queue_s, t.inference_s, call.texts.size());
    if (t.first_in_pass) sh_.metrics.forward_pass(t.pass_texts);
    Response res;
    try {
      if (error) std::rethrow_exception(error);
      res = json_response(http::status::ok, answer(call, preds, sh_.clf->labels(), sh_.clf->options().generate || call.generate,
                                                   sh_.limits.max_input_tokens));
    } catch (const ApiError& e) {
      res = error_response(e.status, e.type, e.what());
    } catch (const std::exception& e) {
      res = error_response(500, "backend", std::string("inference failed: ") + e.what());
    }
    res.set("x-queue-time", ms(t.queue_s));
    res.set("x-inference-time", ms(t.inference_s));
    net::post(stream_.get_executor(), [self = shared_from_this(), res = std::move(res), name]() mutable {
      self->send(std::move(res), name);
    });
  }

  void send(Response res, const char* route) {
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    res.version(version_);
    res.keep_alive(keep_alive_ && !sh_.draining);
    res.set(http::field::server, "emot5");
    res.set("x-total-time", ms(secs));
    if (!sh_.o.cors.empty()) {
      res.set(http::field::access_control_allow_origin, sh_.o.cors);
      res.set(http::field::vary, "Origin");
    }
    res.prepare_payload();
    sh_.metrics.request(route, res.result_int(), secs);
    if (sh_.o.log)
      std::fprintf(stderr, "%s %s %s %s %u %.2f ms\n", utc_now().c_str(), peer_.c_str(), method_.c_str(), target_.c_str(),
                   res.result_int(), secs * 1000);
    res_ = std::make_shared<Response>(std::move(res));
    stream_.expires_after(timeout());
    http::async_write(stream_, *res_, beast::bind_front_handler(&Session::on_write, shared_from_this(), res_->need_eof()));
  }

  void on_write(bool close_after, beast::error_code ec, size_t) {
    if (counted_) {
      counted_ = false;
      --sh_.in_flight;
    }
    res_.reset();
    if (ec || close_after) return close();
    read();
  }

  // Half-closes, then reads and drops what the client still sends (at most 1 s), so that a
  // client still writing a refused body reads the answer instead of a reset.
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(1));
    discard();
  }
  void discard() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->stream_.close();
        return;
      }
      self->discard();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Shared& sh_;
  std::string peer_, method_ = "-", target_ = "-";
  unsigned version_ = 11;
  bool keep_alive_ = true, counted_ = false;
  Clock::time_point started_ = Clock::now();
  std::shared_ptr<Response> res_;
  char scratch_[4096];
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, const std::string& host, int port, Shared& sh) : ioc_(ioc), acceptor_(ioc), sh_(sh) {
    const std::string where = host + ":" + std::to_string(port);
    beast::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": '" + host + "' is not an IP address");
    const tcp::endpoint ep(address, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    // SO_REUSEADDR only (never SO_REUSEPORT): a port another server holds stays refused.
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      if (sh_.connections >= sh_.o.connections) {
        static const std::string busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: 79\r\n\r\n{\"error\":\"too many open connections (--connections)\",\"error_type\":\"overloaded\"}";
        net::write(socket, net::buffer(busy), ec);
        socket.close(ec);
      } else {
        std::make_shared<Session>(std::move(socket), sh_)->start();
      }
    }
    accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Shared& sh_;
};

// The model and the batcher; then the server is ready.
void load(Shared& sh) {
  ClassifierOptions co = sh.o.clf;
  co.threads = sh.plan.threads;
  sh.clf = std::make_unique<Classifier>(Classifier::load(sh.o.model_dir, co));
  const Classifier& clf = *sh.clf;
  const int batch_size = clf.options().batch_size;
  sh.batcher = std::make_unique<Batcher>(
      [&clf, batch_size](const std::vector<std::string>& texts, const Batcher::Needs& needs) {
        return clf.classify_batch(texts, batch_size, needs.log_probs, needs.generate);
      },
      static_cast<size_t>(batch_size), sh.plan.passes, !sh.o.no_batching);
  ServerFacts facts;
  facts.model_dir = sh.o.model_dir;
  facts.precision = clf.options().precision;
  facts.version = kVersion;
  facts.labels = clf.labels();
  facts.max_concurrent_requests = sh.o.max_concurrent_requests;
  facts.passes = sh.plan.passes;
  facts.threads = sh.plan.threads;
  facts.limits = sh.limits;
  sh.info = info_body(facts);
  sh.ready = true;
}

// SIGINT / SIGTERM: stop accepting, answer 503 on /health, wait for the requests in flight (at
// most drain_timeout_s), then stop the connections' threads.
class Drain : public std::enable_shared_from_this<Drain> {
 public:
  Drain(net::io_context& ioc, Shared& sh, std::shared_ptr<Listener> listener)
      : ioc_(ioc), sh_(sh), listener_(std::move(listener)), signals_(ioc, SIGINT, SIGTERM), timer_(ioc) {}
  void arm() {
    signals_.async_wait([self = shared_from_this()](beast::error_code ec, int) {
      if (ec) return;
      self->sh_.draining = true;
      self->listener_->close();
      self->deadline_ = Clock::now() + std::chrono::milliseconds(static_cast<long long>(self->sh_.o.drain_timeout_s * 1000));
      self->poll();
    });
  }

 private:
  void poll() {
    if (sh_.in_flight == 0 || Clock::now() >= deadline_) {
      ioc_.stop();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(10));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->poll();
    });
  }

  net::io_context& ioc_;
  Shared& sh_;
  std::shared_ptr<Listener> listener_;
  net::signal_set signals_;
  net::steady_timer timer_;
  Clock::time_point deadline_;
};

}  // namespace

int serve(const ServeOptions& o) {
  Shared sh(o);
  net::io_context ioc;
  auto listener = std::make_shared<Listener>(ioc, o.host, o.port, sh);
  const int port = listener->port();
  listener->accept();
  std::make_shared<Drain>(ioc, sh, listener)->arm();
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o.io_threads); ++i)
    threads.emplace_back([&ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "emot5 serve: %s\n", e.what());
        }
      }
    });
  try {
    load(sh);  // /health answers 503 meanwhile
  } catch (...) {
    ioc.stop();
    for (auto& t : threads) t.join();
    throw;
  }
  const std::string compute = "up to " + std::to_string(sh.plan.passes) + " passes at once, " +
                              std::to_string(sh.plan.threads) + (sh.plan.threads == 1 ? " thread" : " threads") + " each" +
                              (o.no_batching ? ", each request alone" : "");
  std::fprintf(stderr,
               "emot5 serve: listening on http://%s:%d (model %s; POST /predict, /hf, /classify; GET /, /info, /health, "
               "/metrics; %s)\n",
               o.host.c_str(), port, o.model_dir.c_str(), compute.c_str());
  std::fflush(stderr);
  for (auto& t : threads) t.join();
  sh.batcher.reset();  // finishes anything queued
  std::fprintf(stderr, "emot5 serve: stopped\n");
  return 0;
}

}  // namespace emot5::app
