#include "train/progress.h"

#include <cmath>

namespace llmft::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (total < 60) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(total));
  } else if (total < 3600) {
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  } else {
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60));
  }
  return text;
}

std::string format_memory(uint64_t bytes) {
  char text[32];
  double mib = double(bytes) / (1024.0 * 1024.0);
  if (mib >= 1024) {
    std::snprintf(text, sizeof text, "%.2f GiB", mib / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.0f MiB", mib);
  }
  return text;
}

ProgressReporter::ProgressReporter(std::FILE* stream, bool interactive, int64_t log_every_steps, int64_t first_step)
    : stream_(stream),
      interactive_(interactive),
      log_every_(log_every_steps > 0 ? log_every_steps : 1),
      first_step_(first_step),
      start_(std::chrono::steady_clock::now()) {}

void ProgressReporter::clear_bar() {
  if (!interactive_ || bar_.empty()) return;
  std::fprintf(stream_, "\r\033[2K");
  bar_.clear();
}

void ProgressReporter::step(const StepReport& r) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  step_seconds_sum_ += r.step_seconds;
  ++steps_seen_;
  double eta = step_seconds_sum_ / double(steps_seen_) * double(r.total - r.step);
  char stats[256];
  std::snprintf(stats, sizeof stats, "loss %.4f | lr %.2e | gnorm %.3f | %.0f tok/s | %s | %s<%s", r.loss, r.lr,
                r.grad_norm, r.tokens_per_second, format_memory(r.memory_bytes).c_str(),
                format_duration(elapsed).c_str(), format_duration(eta).c_str());
  if (interactive_) {
    constexpr int kWidth = 24;
    int filled = r.total > 0 ? int(kWidth * r.step / r.total) : 0;
    std::string bar = "\r\033[2K[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] " +
                      std::to_string(r.step) + "/" + std::to_string(r.total) + " " + stats;
    std::fputs(bar.c_str(), stream_);
    std::fflush(stream_);
    bar_ = bar;
    return;
  }
  if (r.step % log_every_ == 0 || r.step == r.total || r.step == first_step_ + 1) {
    std::fprintf(stream_, "step %lld/%lld %s\n", static_cast<long long>(r.step), static_cast<long long>(r.total),
                 stats);
    std::fflush(stream_);
  }
}

void ProgressReporter::message(const std::string& line) {
  std::string bar = bar_;
  clear_bar();
  std::fprintf(stream_, "%s\n", line.c_str());
  if (!bar.empty()) {
    std::fputs(bar.c_str(), stream_);
    bar_ = bar;
  }
  std::fflush(stream_);
}

void ProgressReporter::finish() {
  if (interactive_ && !bar_.empty()) std::fputc('\n', stream_);
  bar_.clear();
  std::fflush(stream_);
}

}  // namespace llmft::train
