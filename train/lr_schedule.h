#pragma once
// Learning-rate schedules with linear warmup, as transformers' get_{cosine,linear,constant}_schedule_
// with_warmup compute them: the multiplier for the update that follows `completed_steps` updates.
#include <cstdint>

namespace llmft::train {

enum class Schedule { kCosine, kLinear, kConstant };

// peak_lr * multiplier(completed_steps); completed_steps in [0, total_steps). With warmup > 0 the
// first update uses lr 0, exactly as HF's LambdaLR does.
double scheduled_lr(Schedule schedule, double peak_lr, int64_t completed_steps, int64_t warmup_steps,
                    int64_t total_steps);

}  // namespace llmft::train
