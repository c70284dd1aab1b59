// Marks the span of a call into oneDNN on this thread, so that the allocation test can tell the
// library's own allocations (memory objects, execution contexts) from the forward pass's.
#pragma once

namespace emot5::kernels {

class ForeignCall {
 public:
  ForeignCall() { ++depth(); }
  ~ForeignCall() { --depth(); }
  ForeignCall(const ForeignCall&) = delete;
  ForeignCall& operator=(const ForeignCall&) = delete;
  static bool active() { return depth() > 0; }

 private:
  static int& depth() {
    thread_local int d = 0;
    return d;
  }
};

}  // namespace emot5::kernels
