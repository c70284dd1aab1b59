// The thread count shared by our parallel loops (OpenMP) and oneDNN's sgemm.
#pragma once
#include <cstddef>
#include <functional>

namespace emot5::kernels {
void set_num_threads(int n);  // n <= 0: all cores
int threads_for(int n);       // the threads set_num_threads(n) uses: n, or all cores for n <= 0
int num_threads();
int available_cores();  // the processors this process may run on (0 threads means these)
// The most threads a caller may ask for: 4 × available_cores(), at most 1024. More would only
// oversubscribe the cores, and OpenMP's runtime fails (without an error) on very large teams.
int max_threads();
// Runs fn(i) for every i in [0, n), taken in order by `lanes` threads at once; each call runs on
// one thread (the kernels' parallel loops and oneDNN's products run serially inside it). The
// first exception thrown stops the lanes from taking more items and is rethrown here.
void for_each_on_lanes(size_t n, int lanes, const std::function<void(size_t)>& fn);
}  // namespace emot5::kernels
