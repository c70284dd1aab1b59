// apps/batcher: requests that wait while a pass runs are joined into the next pass, each gets its
// own predictions back, errors reach every request of the failed pass, and shutdown drains.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "apps/batcher.h"

namespace emot5::app {
namespace {

// A stand-in for the model: each text's label is the text itself. The first pass can be held
// until release(), so that later requests queue up behind it.
class FakeModel {
 public:
  std::vector<Prediction> run(const std::vector<std::string>& texts) {
    std::unique_lock<std::mutex> lock(mu_);
    passes_.push_back(texts);
    started_.notify_all();
    if (passes_.size() == 1) released_.wait(lock, [this] { return released_flag_; });
    for (const auto& t : texts)
      if (t == "fail") throw std::runtime_error("model failed on purpose");
    std::vector<Prediction> out(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) out[i].label = texts[i];
    return out;
  }
  void wait_first_pass() {
    std::unique_lock<std::mutex> lock(mu_);
    started_.wait(lock, [this] { return !passes_.empty(); });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_flag_ = true;
    released_.notify_all();
  }
  std::vector<std::vector<std::string>> passes() {
    std::lock_guard<std::mutex> lock(mu_);
    return passes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable started_, released_;
  bool released_flag_ = false;
  std::vector<std::vector<std::string>> passes_;
};

void wait_for_queue(const Batcher& b, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (b.stats().waiting < n) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "requests did not queue";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::vector<std::string> labels(const std::vector<Prediction>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.label);
  return out;
}

TEST(Batcher, JoinsWaitingRequestsIntoOnePass) {
  FakeModel model;
  Batcher b([&](const std::vector<std::string>& t, const Batcher::Needs&) { return model.run(t); }, 8);
  std::vector<std::string> got_a, got_b, got_c, got_d;
  std::thread ta([&] { got_a = labels(b.classify({"a"})); });
  model.wait_first_pass();  // "a" runs alone and is held
  std::thread tb([&] { got_b = labels(b.classify({"b"})); });
  wait_for_queue(b, 1);
  std::thread tc([&] { got_c = labels(b.classify({"c1", "c2"})); });
  wait_for_queue(b, 2);
  std::thread td([&] { got_d = labels(b.classify({"d"})); });
  wait_for_queue(b, 3);
  model.release();
  for (auto* t : {&ta, &tb, &tc, &td}) t->join();

  EXPECT_EQ(got_a, (std::vector<std::string>{"a"}));
  EXPECT_EQ(got_b, (std::vector<std::string>{"b"}));
  EXPECT_EQ(got_c, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(got_d, (std::vector<std::string>{"d"}));
  const auto passes = model.passes();
  ASSERT_EQ(passes.size(), 2u);
  EXPECT_EQ(passes[1], (std::vector<std::string>{"b", "c1", "c2", "d"}));
  const auto st = b.stats();
  EXPECT_EQ(st.requests, 4u);
  EXPECT_EQ(st.texts, 5u);
  EXPECT_EQ(st.passes, 2u);
  EXPECT_EQ(st.waiting, 0u);
}

// submit() returns at once; its callback gets the predictions and what the pass cost: the queue
// time of a request that waited behind a held pass, and the pass's size. A pass asks the model
// for log-probabilities when any request joined into it does.
TEST(Batcher, SubmitCallsBackWithTheTimingAndAsksForLogProbsWhenARequestDoes) {
  FakeModel model;
  std::mutex mu;
  std::vector<bool> asked, generated;
  Batcher b(
      [&](const std::vector<std::string>& t, const Batcher::Needs& needs) {
        {
          std::lock_guard<std::mutex> lock(mu);
          asked.push_back(needs.log_probs);
          generated.push_back(needs.generate);
        }
        return model.run(t);
      },
      8);
  std::promise<Batcher::Timing> first, second, third;
  std::vector<std::string> got;
  b.submit({"a"}, {}, [&](std::vector<Prediction>, std::exception_ptr, const Batcher::Timing& t) { first.set_value(t); });
  model.wait_first_pass();
  b.submit({"b"}, {false, true}, [&](std::vector<Prediction> p, std::exception_ptr e, const Batcher::Timing& t) {
    got = e ? std::vector<std::string>{"error"} : labels(p);
    second.set_value(t);
  });
  b.submit({"c1", "c2"}, {true, false}, [&](std::vector<Prediction>, std::exception_ptr, const Batcher::Timing& t) {
    third.set_value(t);
  });
  wait_for_queue(b, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  model.release();
  const auto t1 = first.get_future().get(), t2 = second.get_future().get(), t3 = third.get_future().get();
  EXPECT_EQ(t1.pass_texts, 1u);
  EXPECT_EQ(t2.pass_texts, 3u);
  EXPECT_EQ(t3.pass_texts, 3u);
  EXPECT_GE(t2.queue_s, 0.04);  // waited behind the held pass
  EXPECT_GE(t1.inference_s, 0.04);  // the held pass itself
  EXPECT_EQ(got, (std::vector<std::string>{"b"}));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(asked, (std::vector<bool>{false, true}));      // the pass of b and c: c asked
  EXPECT_EQ(generated, (std::vector<bool>{false, true}));  // and b asked for generation
}

TEST(Batcher, PassesHoldAtMostMaxTextsButALargerRequestGoesAlone) {
  FakeModel model;
  Batcher b([&](const std::vector<std::string>& t, const Batcher::Needs&) { return model.run(t); }, 3);
  std::thread ta([&] { b.classify({"a"}); });
  model.wait_first_pass();
  std::thread tb([&] { b.classify({"b1", "b2"}); });
  wait_for_queue(b, 1);
  std::thread tc([&] { b.classify({"c1", "c2"}); });
  wait_for_queue(b, 2);
  std::vector<std::string> got_d;
  std::thread td([&] { got_d = labels(b.classify({"d1", "d2", "d3", "d4", "d5"})); });
  wait_for_queue(b, 3);
  model.release();
  for (auto* t : {&ta, &tb, &tc, &td}) t->join();

  const auto passes = model.passes();
  ASSERT_EQ(passes.size(), 4u);
  EXPECT_EQ(passes[1], (std::vector<std::string>{"b1", "b2"}));  // c would make 4 > 3
  EXPECT_EQ(passes[2], (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(passes[3].size(), 5u);
  EXPECT_EQ(got_d, (std::vector<std::string>{"d1", "d2", "d3", "d4", "d5"}));
}

TEST(Batcher, AnErrorReachesEveryRequestOfItsPassAndTheNextPassRuns) {
  FakeModel model;
  Batcher b([&](const std::vector<std::string>& t, const Batcher::Needs&) { return model.run(t); }, 8);
  std::thread ta([&] { b.classify({"a"}); });
  model.wait_first_pass();
  std::string err_b, err_c;
  std::thread tb([&] {
    try { b.classify({"b"}); } catch (const std::runtime_error& e) { err_b = e.what(); }
  });
  wait_for_queue(b, 1);
  std::thread tc([&] {
    try { b.classify({"fail"}); } catch (const std::runtime_error& e) { err_c = e.what(); }
  });
  wait_for_queue(b, 2);
  model.release();
  for (auto* t : {&ta, &tb, &tc}) t->join();
  EXPECT_EQ(err_b, "model failed on purpose");
  EXPECT_EQ(err_c, "model failed on purpose");
  EXPECT_EQ(labels(b.classify({"after"})), (std::vector<std::string>{"after"}));
}

TEST(Batcher, WithTwoWorkersASecondPassRunsBesideAHeldOne) {
  FakeModel model;
  Batcher b([&](const std::vector<std::string>& t, const Batcher::Needs&) { return model.run(t); }, 8, 2);
  std::thread ta([&] { b.classify({"a"}); });
  model.wait_first_pass();  // held on one worker
  std::atomic<bool> b_done{false};
  std::thread tb([&] {
    b.classify({"b"});  // the other worker takes it at once
    b_done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!b_done && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(b_done) << "the second request waited for the held pass";
  model.release();
  ta.join();
  tb.join();
  EXPECT_EQ(model.passes().size(), 2u);
}

TEST(Batcher, ShutdownFinishesQueuedRequests) {
  FakeModel model;
  std::vector<std::string> got_b;
  std::thread ta, tb, releaser;
  {
    Batcher b([&](const std::vector<std::string>& t, const Batcher::Needs&) { return model.run(t); }, 8);
    ta = std::thread([&] { b.classify({"a"}); });
    model.wait_first_pass();
    tb = std::thread([&] { got_b = labels(b.classify({"b"})); });
    wait_for_queue(b, 1);
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      model.release();
    });
  }  // the destructor waits for "a" and "b"
  releaser.join();
  ta.join();
  tb.join();
  EXPECT_EQ(got_b, (std::vector<std::string>{"b"}));
}

TEST(PlanPasses, OnePassPerFourCoresEachWithAnEqualShare) {
  const auto plan = [](int cores, size_t passes, int threads) {
    const PassPlan p = plan_passes(cores, passes, threads);
    return std::make_pair(p.passes, p.threads);
  };
  using P = std::pair<size_t, int>;
  EXPECT_EQ(plan(2, 0, 0), P(2, 1));     // this project's 2 vCPUs
  EXPECT_EQ(plan(16, 0, 0), P(4, 4));    // a 16-core machine
  EXPECT_EQ(plan(64, 0, 0), P(16, 4));
  EXPECT_EQ(plan(1, 0, 0), P(2, 1));     // at least 2 passes and 1 thread
  EXPECT_EQ(plan(0, 0, 0), P(2, 1));     // an unknown core count reads as 1
  EXPECT_EQ(plan(16, 2, 0), P(2, 8));    // --passes 2: the cores split between them
  EXPECT_EQ(plan(16, 5, 0), P(5, 3));
  EXPECT_EQ(plan(16, 0, 3), P(4, 3));    // --threads 3 is kept
  EXPECT_EQ(plan(2, 3, 16), P(3, 16));   // both given: as given
}

}  // namespace
}  // namespace emot5::app
