#include "data/packing.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "io/error.h"

namespace llmft::data {

std::vector<TokenizedSample> pack_samples(const std::vector<TokenizedSample>& samples, int64_t row_len,
                                          PackingStats* stats) {
  if (row_len <= 0) throw Error("packing: row length must be positive, got " + std::to_string(row_len));
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i : order) {
    const auto n = static_cast<int64_t>(samples[i].input_ids.size());
    if (n > row_len) {
      throw Error("packing: example " + std::to_string(i) + " has " + std::to_string(n) +
                  " tokens, more than the row length " + std::to_string(row_len));
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return samples[a].input_ids.size() > samples[b].input_ids.size();
  });

  // Open rows by room left; among equal room the earliest row (multimap keeps insertion order).
  std::vector<std::vector<std::size_t>> rows;
  std::multimap<int64_t, std::size_t> room;  // room left -> row index
  for (std::size_t i : order) {
    const auto n = static_cast<int64_t>(samples[i].input_ids.size());
    auto fit = room.lower_bound(n);
    std::size_t row;
    int64_t left;
    if (fit == room.end()) {
      row = rows.size();
      rows.emplace_back();
      left = row_len - n;
    } else {
      row = fit->second;
      left = fit->first - n;
      room.erase(fit);
    }
    rows[row].push_back(i);
    if (left > 0) room.emplace(left, row);
  }

  std::vector<TokenizedSample> packed(rows.size());
  int64_t tokens = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    TokenizedSample& out = packed[r];
    for (std::size_t i : rows[r]) {
      const TokenizedSample& sample = samples[i];
      const std::size_t first = out.input_ids.size();
      out.input_ids.insert(out.input_ids.end(), sample.input_ids.begin(), sample.input_ids.end());
      out.labels.insert(out.labels.end(), sample.labels.begin(), sample.labels.end());
      out.labels[first] = kIgnoreIndex;  // see packing.h: no target across the boundary
      for (std::size_t p = 0; p < sample.input_ids.size(); ++p) out.position_ids.push_back(static_cast<int32_t>(p));
    }
    tokens += static_cast<int64_t>(out.input_ids.size());
  }
  if (stats) {
    stats->examples = static_cast<int64_t>(samples.size());
    stats->rows = static_cast<int64_t>(rows.size());
    stats->tokens = tokens;
    stats->fill = rows.empty() ? 0.0 : double(tokens) / (double(rows.size()) * double(row_len));
  }
  return packed;
}

}  // namespace llmft::data
