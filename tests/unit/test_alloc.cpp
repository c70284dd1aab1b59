// The steady state allocates nothing per layer: once a thread has run a batch, running it again
// allocates only the results (the encoder output, the decoder's caches), whatever the depth.
// Counts operator new calls; this binary replaces the global operator new for that.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "io/checkpoint.h"
#include "model/t5.h"
#include "test_util.h"

namespace {
std::atomic<long> g_news{0};
}

void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace emot5 {
namespace {

// int8, whose linear products (oneDNN's u8s8s32 C gemm) allocate nothing themselves. The encoder's
// attention products go through oneDNN's sgemm, which allocates twice per layer on its own; its
// bf16 matmul creates memory objects, about 45 allocations per product. Those are the library's.
TEST(SteadyState, NoAllocationPerLayer) {
  const Checkpoint ck = open_checkpoint(test::data("tiny-v11-untied-f32"));
  const T5Model model(ck.config, ck.weights, Precision::Int8);
  const PackedBatch batch = PackedBatch::from({{37, 5, 900, 12, 1}, {8, 1}, {300, 301, 302, 303, 304, 305, 1}});
  const int tokens[3] = {0, 0, 0};
  auto run = [&] {
    const EncoderOutput enc = model.encode(batch);
    DecoderState st = model.start_decoder(enc, 2);
    model.decode_step(st, tokens);
    model.decode_step(st, tokens);
  };
  run();  // warm-up: the scratch buffers grow here
  const long before = g_news.load();
  run();
  const long news = g_news.load() - before;
  // Results: the encoder output (hidden, offsets), the position-bias table, the decoder state
  // (offsets, 4 cache lists and their per-layer buffers, hidden); plus oneDNN's sgemm, twice per
  // encoder layer. Per-layer temporaries of our own (q|k|v, context, FFN buffers, scores per
  // thread) would add several a layer.
  const long layers = ck.config.num_layers + ck.config.num_decoder_layers;
  EXPECT_LE(news, 9 + 4 * ck.config.num_decoder_layers + 2 * ck.config.num_layers)
      << news << " allocations for " << layers << " layers";
}

}  // namespace
}  // namespace emot5
