// Per-thread scratch buffers for the forward pass's temporaries. Each slot keeps the largest
// size asked of it on this thread, so once a thread has seen its largest batch the layers run
// without allocating. A slot is owned by one function at a time; the enum documents who.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace emot5 {

enum class Scratch {
  Hidden,      // encode / decode_step: the residual stream x
  Normed,      // encode / decode_step: rms_norm(x) for attention
  FfnNormed,   // feed_forward: rms_norm(x)
  FfnInner,    // feed_forward: wi n ([wi_0 n | wi_1 n] when gated)
  FfnGated,    // feed_forward: act(wi_0 n) · wi_1 n
  Qkv,         // self-attention: q|k|v rows (or cross-attention's q)
  Context,     // attention: the heads' outputs before o
  Scores,      // attention, inside the parallel loop: one head's scores (one per thread)
  Bias,        // decoder self-attention: this step's position bias
  CrossK,      // cross-attention of a single-step decoder: this layer's keys
  CrossV,      //   and values
  NormedScale,    // norm_input: the quantized rows' scales
  FfnGatedScale,  // feed_forward: the scales of act(wi_0 n) · wi_1 n quantized (and of FfnOut)
  ContextScale,   // encoder self-attention: the scales of the context rows quantized
  AttnOut,        // encoder self-attention: o's rows left unscaled (a pending residual add)
  FfnOut,         // feed_forward: wo's rows left unscaled (a pending residual add)
  EncoderScale,   // encoder_input: the scales of the encoder output quantized
  Count
};

// Int8 rows, for the inputs of int8 products.
enum class ScratchS8 {
  Normed,    // norm_input: rms_norm(x) quantized
  FfnGated,  // feed_forward: act(wi_0 n) · wi_1 n quantized
  Context,   // encoder self-attention: the context rows quantized for o
  Encoder,   // encoder_input: the encoder output quantized, for the cross-attention's k and v
  Count
};

// Bf16 rows, for the inputs of bf16 products (the slots of ScratchS8, in bf16).
enum class ScratchBf16 { Normed, FfnGated, Context, Encoder, Count };

inline float* scratch(Scratch slot, size_t n) {
  thread_local std::vector<float> buffers[static_cast<size_t>(Scratch::Count)];
  auto& b = buffers[static_cast<size_t>(slot)];
  if (b.size() < n) b.resize(n);
  return b.data();
}

inline uint16_t* scratch_bf16(ScratchBf16 slot, size_t n) {
  thread_local std::vector<uint16_t> buffers[static_cast<size_t>(ScratchBf16::Count)];
  auto& b = buffers[static_cast<size_t>(slot)];
  if (b.size() < n) b.resize(n);
  return b.data();
}

inline int8_t* scratch_s8(ScratchS8 slot, size_t n) {
  thread_local std::vector<int8_t> buffers[static_cast<size_t>(ScratchS8::Count)];
  auto& b = buffers[static_cast<size_t>(slot)];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace emot5
