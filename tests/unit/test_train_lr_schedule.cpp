// Learning-rate schedules against transformers' formulas (optimization.py) at their boundaries:
// the first update, the end of warmup, mid-decay and the last update. The parity test
// (tests/parity/test_train_parity.cpp) checks the cosine schedule against HF's LambdaLR exactly.
#include <cmath>
#include <numbers>

#include "io/error.h"
#include "tests/support/catch.h"
#include "train/lr_schedule.h"

using llmft::train::Schedule;
using llmft::train::scheduled_lr;

TEST_CASE("cosine schedule: linear warmup from 0, then half a cosine to 0", "[train][lr]") {
  const double peak = 2e-3;
  CHECK(scheduled_lr(Schedule::kCosine, peak, 0, 4, 20) == 0.0);  // LambdaLR's first update uses lr 0
  CHECK(scheduled_lr(Schedule::kCosine, peak, 1, 4, 20) == peak * 0.25);
  CHECK(scheduled_lr(Schedule::kCosine, peak, 3, 4, 20) == peak * 0.75);
  CHECK(scheduled_lr(Schedule::kCosine, peak, 4, 4, 20) == peak);  // end of warmup: the peak
  // Halfway through the decay: cos(pi/2) = 6e-17, so the multiplier is 0.5 up to rounding.
  CHECK(scheduled_lr(Schedule::kCosine, peak, 12, 4, 20) == Approx(peak * 0.5).epsilon(1e-15));
  const double last = 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * (15.0 / 16.0)));
  CHECK(scheduled_lr(Schedule::kCosine, peak, 19, 4, 20) == peak * last);
  CHECK(scheduled_lr(Schedule::kCosine, peak, 20, 4, 20) == 0.0);  // clamped at 0 (max(0, ...))
  // No warmup: the first update uses the peak.
  CHECK(scheduled_lr(Schedule::kCosine, peak, 0, 0, 10) == peak);
}

TEST_CASE("linear schedule: warmup, then linear decay reaching 0 at total_steps", "[train][lr]") {
  const double peak = 1e-3;
  CHECK(scheduled_lr(Schedule::kLinear, peak, 0, 2, 10) == 0.0);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 1, 2, 10) == peak * 0.5);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 2, 2, 10) == peak);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 6, 2, 10) == peak * 0.5);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 9, 2, 10) == peak * 0.125);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 10, 2, 10) == 0.0);
  CHECK(scheduled_lr(Schedule::kLinear, peak, 12, 2, 10) == 0.0);  // past the end: clamped, not negative
  // warmup == total: HF divides by max(1, 0).
  CHECK(scheduled_lr(Schedule::kLinear, peak, 3, 3, 3) == 0.0);
}

TEST_CASE("constant schedule: warmup, then the peak forever", "[train][lr]") {
  const double peak = 3e-4;
  CHECK(scheduled_lr(Schedule::kConstant, peak, 0, 3, 10) == 0.0);
  CHECK(scheduled_lr(Schedule::kConstant, peak, 1, 3, 10) == peak * (1.0 / 3.0));
  CHECK(scheduled_lr(Schedule::kConstant, peak, 3, 3, 10) == peak);
  CHECK(scheduled_lr(Schedule::kConstant, peak, 1000, 3, 10) == peak);
  CHECK(scheduled_lr(Schedule::kConstant, peak, 0, 0, 10) == peak);
}

TEST_CASE("schedules reject negative step counts", "[train][lr]") {
  CHECK_THROWS_AS(scheduled_lr(Schedule::kCosine, 1e-3, -1, 0, 10), llmft::Error);
  CHECK_THROWS_AS(scheduled_lr(Schedule::kLinear, 1e-3, 0, -2, 10), llmft::Error);
}
