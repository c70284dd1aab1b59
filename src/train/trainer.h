// emot5's fine-tuning run on libtorch: the original recipe by default (AdamW 5e-5, batch 8,
// seed 42, 3 epochs, linear decay without warm-up, clipping at 1.0, dropout from config.json),
// atomic checkpoints of everything a resumed run needs to end with the same weights, evaluation,
// a metrics log and its plot. The pieces: options.h (what a run is told), batches.h (data order
// and batches), optimizer.h (AdamW, schedule, step), evaluation.h, distill.h, checkpoint_io.h.
#pragma once
#include "train/options.h"

namespace emot5::train {

// Runs a whole training, or resumes one (TrainOptions::resume). Returns the process exit code:
// 0 done (or stopped by --stop-after), 130 when interrupted by a signal (a checkpoint was written
// first). Throws std::invalid_argument for bad options and emot5::Error for bad files.
int run_training(const TrainOptions& options);

}  // namespace emot5::train
