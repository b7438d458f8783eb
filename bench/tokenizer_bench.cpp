// Encode throughput of llmft's GGUF tokenizer, one thread.
//
//   tokenizer_bench MODEL.gguf DOCS.json [REPEATS]
//
// DOCS.json is a JSON array of strings (documents), encoded one by one as a data loader would. The
// first pass starts with an empty word cache; the best of the later passes is reported as warm.
// Prints one JSON object; bench/tokenizer_bench.py builds this program and compares with HF.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/gguf_vocab.h"
#include "io/error.h"
#include "io/gguf.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tokenizer_bench MODEL.gguf DOCS.json [REPEATS]\n";
    return 2;
  }
  try {
    const int repeats = argc > 3 ? std::max(2, std::atoi(argv[3])) : 5;
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw llmft::Error(std::string("cannot read ") + argv[2]);
    const auto docs = nlohmann::json::parse(in).get<std::vector<std::string>>();
    std::size_t bytes = 0;
    for (const auto& doc : docs) bytes += doc.size();

    auto start = std::chrono::steady_clock::now();
    const auto tokenizer = llmft::data::load_gguf_tokenizer(llmft::io::GgufFile::open(argv[1]));
    const double load_s = seconds_since(start);

    std::vector<std::vector<int32_t>> ids(docs.size());
    double cold_s = 0;
    double warm_s = 1e30;
    for (int pass = 0; pass < repeats; ++pass) {
      start = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < docs.size(); ++i) ids[i] = tokenizer->encode(docs[i], false);
      const double s = seconds_since(start);
      if (pass == 0) {
        cold_s = s;
      } else {
        warm_s = std::min(warm_s, s);
      }
    }
    std::size_t tokens = 0;
    for (const auto& v : ids) tokens += v.size();

    nlohmann::json out = {{"docs", docs.size()},     {"bytes", bytes},    {"tokens", tokens},
                          {"load_s", load_s},        {"cold_s", cold_s},  {"warm_s", warm_s},
                          {"cold_mb_per_s", bytes / cold_s / 1e6}, {"warm_mb_per_s", bytes / warm_s / 1e6},
                          {"ids", ids}};
    std::cout << out.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tokenizer_bench: " << e.what() << "\n";
    return 2;
  }
}
