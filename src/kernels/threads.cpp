// Thread count (see threads.h).
#include "kernels/threads.h"

#include <algorithm>

#include <omp.h>

namespace emot5::kernels {
void set_num_threads(int n) { omp_set_num_threads(threads_for(n)); }
int threads_for(int n) { return n > 0 ? n : available_cores(); }
int num_threads() { return omp_get_max_threads(); }
int available_cores() { return omp_get_num_procs(); }
int max_threads() { return std::min(1024, 4 * available_cores()); }

}  // namespace emot5::kernels
