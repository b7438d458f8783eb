#pragma once
// Training progress for people: on a terminal a live one-line bar (step/total, ETA, loss, lr,
// tokens/s, memory) redrawn in place; otherwise (CI logs, files) one plain line every
// `log_every_steps` steps. Messages (eval results, checkpoints) are printed above the bar.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace llmft::train {

struct StepReport {
  int64_t step = 0;   // optimizer steps completed
  int64_t total = 0;  // optimizer steps in the run
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
  uint64_t memory_bytes = 0;  // peak so far
  double step_seconds = 0;    // wall time of this step (the ETA averages these, leaving evals out)
};

class ProgressReporter {
 public:
  // first_step: the step this process starts from (resume), so the ETA uses this process's pace.
  ProgressReporter(std::FILE* stream, bool interactive, int64_t log_every_steps, int64_t first_step);
  void step(const StepReport& report);
  void message(const std::string& line);  // one line, printed without breaking the bar
  void finish();                          // ends the bar's line

 private:
  void clear_bar();
  std::FILE* stream_;
  bool interactive_;
  int64_t log_every_;
  int64_t first_step_;
  std::chrono::steady_clock::time_point start_;
  std::string bar_;  // what is on screen now (interactive only)
  double step_seconds_sum_ = 0;
  int64_t steps_seen_ = 0;
};

std::string format_duration(double seconds);  // "42s", "3m07s", "2h05m"
std::string format_memory(uint64_t bytes);    // "1.23 GiB", "512 MiB"

}  // namespace llmft::train
