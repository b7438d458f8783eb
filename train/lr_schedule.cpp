#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "io/error.h"

namespace llmft::train {
namespace {

// Each multiplier is written with the same operations, in the same order, as transformers'
// optimization.py (_get_*_schedule_with_warmup_lr_lambda), so the doubles are identical.
double warmup_fraction(int64_t step, int64_t warmup) {
  return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
}

double cosine(int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return warmup_fraction(step, warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  constexpr double kNumCycles = 0.5;  // half a cosine: peak -> 0
  return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * kNumCycles * 2.0 * progress)));
}

double linear(int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return warmup_fraction(step, warmup);
  return std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

double constant(int64_t step, int64_t warmup) {
  // HF divides by max(1.0, warmup) here (a float max); for integers it is the same value.
  if (step < warmup) return static_cast<double>(step) / std::max(1.0, static_cast<double>(warmup));
  return 1.0;
}

}  // namespace

double scheduled_lr(Schedule schedule, double peak_lr, int64_t completed_steps, int64_t warmup_steps,
                    int64_t total_steps) {
  if (completed_steps < 0 || warmup_steps < 0 || total_steps < 0)
    throw Error("learning-rate schedule: steps must be >= 0 (step " + std::to_string(completed_steps) + ", warmup " +
                std::to_string(warmup_steps) + ", total " + std::to_string(total_steps) + ")");
  double multiplier = 1.0;
  switch (schedule) {
    case Schedule::kCosine: multiplier = cosine(completed_steps, warmup_steps, total_steps); break;
    case Schedule::kLinear: multiplier = linear(completed_steps, warmup_steps, total_steps); break;
    case Schedule::kConstant: multiplier = constant(completed_steps, warmup_steps); break;
  }
  return peak_lr * multiplier;  // LambdaLR: base_lr * lambda(last_epoch)
}

}  // namespace llmft::train
