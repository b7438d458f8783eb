#include "train/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "io/atomic_file.h"
#include "train/metrics_log.h"

namespace llmft::train {
namespace {

constexpr double kWidth = 720, kHeight = 400, kLeft = 60, kRight = 20, kTop = 30, kBottom = 45;

std::string number(double value, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

LossSeries loss_series_from_metrics(const std::filesystem::path& metrics_jsonl) {
  LossSeries series;
  for (const auto& row : read_metrics(metrics_jsonl)) {
    int64_t step = row.value("step", int64_t{0});
    if (row.contains("loss") && row["loss"].is_number()) series.train.emplace_back(step, row["loss"].get<double>());
    if (row.contains("eval_loss") && row["eval_loss"].is_number()) {
      series.eval.emplace_back(step, row["eval_loss"].get<double>());
    }
  }
  return series;
}

void write_loss_svg(const std::filesystem::path& path, const LossSeries& series) {
  double min_step = INFINITY, max_step = -INFINITY, min_loss = INFINITY, max_loss = -INFINITY;
  for (const auto* points : {&series.train, &series.eval}) {
    for (auto [step, loss] : *points) {
      if (!std::isfinite(loss)) continue;
      min_step = std::min(min_step, double(step));
      max_step = std::max(max_step, double(step));
      min_loss = std::min(min_loss, loss);
      max_loss = std::max(max_loss, loss);
    }
  }
  if (!std::isfinite(min_step)) min_step = 0, max_step = 1, min_loss = 0, max_loss = 1;
  if (max_step == min_step) max_step = min_step + 1;
  if (max_loss == min_loss) max_loss = min_loss + 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x = [&](double step) { return kLeft + (step - min_step) / (max_step - min_step) * plot_w; };
  auto y = [&](double loss) { return kTop + (max_loss - loss) / (max_loss - min_loss) * plot_h; };
  auto polyline = [&](const std::vector<std::pair<int64_t, double>>& points, const char* colour, bool dots) {
    std::string out;
    std::string coords;
    for (auto [step, loss] : points) {
      if (!std::isfinite(loss)) continue;
      coords += number(x(double(step)), "%.1f") + "," + number(y(loss), "%.1f") + " ";
      if (dots) {
        out += "<circle cx=\"" + number(x(double(step)), "%.1f") + "\" cy=\"" + number(y(loss), "%.1f") +
               "\" r=\"3\" fill=\"" + colour + "\"/>\n";
      }
    }
    if (!coords.empty()) {
      out += std::string("<polyline fill=\"none\" stroke=\"") + colour + "\" stroke-width=\"1.5\" points=\"" + coords +
             "\"/>\n";
    }
    return out;
  };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) + "\" height=\"" +
                    number(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + number(kLeft) + "\" y=\"18\">loss per optimizer step (blue: train, orange: eval)</text>\n";
  svg += "<rect x=\"" + number(kLeft) + "\" y=\"" + number(kTop) + "\" width=\"" + number(plot_w) + "\" height=\"" +
         number(plot_h) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double loss = min_loss + (max_loss - min_loss) * i / 4.0;
    svg += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + number(y(loss) + 4, "%.1f") + "\" text-anchor=\"end\">" +
           number(loss) + "</text>\n";
    double step = min_step + (max_step - min_step) * i / 4.0;
    svg += "<text x=\"" + number(x(step), "%.1f") + "\" y=\"" + number(kHeight - kBottom + 16) +
           "\" text-anchor=\"middle\">" + number(std::round(step), "%.0f") + "</text>\n";
  }
  svg += "<text x=\"" + number(kLeft + plot_w / 2) + "\" y=\"" + number(kHeight - 8) +
         "\" text-anchor=\"middle\">step</text>\n";
  svg += polyline(series.train, "#1f77b4", false);
  svg += polyline(series.eval, "#ff7f0e", true);
  svg += "</svg>\n";
  io::write_file_atomically(path, svg);
}

}  // namespace llmft::train
