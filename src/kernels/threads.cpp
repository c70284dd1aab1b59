// Thread count (see threads.h).
#include "kernels/threads.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include <omp.h>

namespace emot5::kernels {
void set_num_threads(int n) { omp_set_num_threads(threads_for(n)); }
int threads_for(int n) { return n > 0 ? n : available_cores(); }
int num_threads() { return omp_get_max_threads(); }
int available_cores() { return omp_get_num_procs(); }
int max_threads() { return std::min(1024, 4 * available_cores()); }

void for_each_on_lanes(size_t n, int lanes, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
#pragma omp parallel num_threads(lanes)
  {
    omp_set_num_threads(1);  // this thread's own setting, for the calls it makes in the region
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next.store(n);
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace emot5::kernels
