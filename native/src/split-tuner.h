// Chooses, per decode step, between one n-token llama_decode and n one-token calls, from the costs it has measured.
// Threading: owned by one decode loop and called only on that loop's thread; not synchronised.
#pragma once

#include <cstdint>
#include <vector>

namespace rfx {

// Whether a pure decode step of n > 1 sequences runs as one n-token llama_decode or as n one-token calls. Batching
// usually wins, but not always: for q8_0 weights ggml's batched kernel (llamafile's tinyBLAS) is slower per token at
// 2-4 rows than the one-row kernel on some CPUs, so "auto" times both on the running model and takes the faster.
enum class BatchSplit { NEVER, AUTO, ALWAYS };

// Per-batch-size decode cost, measured on pure decode steps only (prompt chunks change the cost).
class SplitTuner {
  public:
    void reset(BatchSplit mode, uint32_t n_max);
    bool split(int n, bool prompts_waiting);
    void record(int n, double ms);
    // The measured wall ms of a pure decode call with the fewest tokens measured so far (0 before any): what a
    // llama_decode call costs beyond its rows, near enough (the weights stream through once per call).
    double least_call_ms() const;

  private:
    BatchSplit mode_ = BatchSplit::AUTO;
    std::vector<double> ms_;        // EWMA of one call's wall ms by tokens in the call; 0 = not measured yet
    std::vector<uint32_t> steps_;   // decisions taken at each size, for periodic re-measuring
};

}  // namespace rfx
