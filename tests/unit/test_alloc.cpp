// The steady state allocates nothing per layer: once a thread has run a batch, running it again
// allocates only the results (the encoder output, the decoder's caches), whatever the depth.
// Counts operator new calls; this binary replaces the global operator new for that.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "io/checkpoint.h"
#include "kernels/foreign.h"
#include "kernels/threads.h"
#include "model/t5.h"
#include "test_util.h"

namespace {
std::atomic<long> g_news{0};
}

// operator new is malloc here, so free is the matching release; GCC cannot see that pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (!emot5::kernels::ForeignCall::active()) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace emot5 {
namespace {

// Allocations made inside oneDNN calls (its memory objects and execution contexts; the kernels
// mark those calls with ForeignCall) are the library's and not counted.
class SteadyState : public ::testing::TestWithParam<Precision> {};

TEST_P(SteadyState, NoAllocationPerLayer) {
  const Checkpoint ck = open_checkpoint(test::data("tiny-v11-untied-f32"));
  const T5Model model(ck.config, ck.weights, GetParam());
  const PackedBatch batch = PackedBatch::from({{37, 5, 900, 12, 1}, {8, 1}, {300, 301, 302, 303, 304, 305, 1}});
  const int tokens[3] = {0, 0, 0};
  const int steps = 2;
  auto run = [&] {
    const EncoderOutput enc = model.encode(batch);
    DecoderState st = model.start_decoder(enc, steps);
    for (int s = 0; s < steps; ++s) model.decode_step(st, tokens);
  };
  // One thread: with several, which worker meets the longest text varies between passes, and a
  // worker's scratch grows the first time it does (bounded, but not yet steady after one pass).
  kernels::set_num_threads(1);
  run();  // warm-up: the scratch buffers grow here
  const long before = g_news.load();
  run();
  const long news = g_news.load() - before;
  // The results: the encoder output (hidden, offsets), its position-bias table, the decoder
  // state (offsets, 4 cache lists and their per-layer buffers, hidden). Per-layer temporaries
  // (q|k|v, context, FFN buffers, scores per thread) would add more.
  const int dec_layers = ck.config.num_decoder_layers;
  EXPECT_LE(news, 3 + (1 + 4 + 4 * dec_layers) + 1) << news << " allocations";
}

INSTANTIATE_TEST_SUITE_P(Precisions, SteadyState, ::testing::Values(Precision::F32, Precision::Bf16, Precision::Int8));

}  // namespace
}  // namespace emot5
