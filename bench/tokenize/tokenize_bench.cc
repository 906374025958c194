// Tokenisation throughput: encodes every document (one per line of FILE, "\n" restored) of
// a few MB of mixed text with the tokenizer at PATH, single thread, after one warm-up pass
// over the first 5%. Prints {"mb_per_s": ..., "tokens": ..., "bytes": ...}.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/fs.h"
#include "mpi_trainer/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: egret-bench-tokenize TOKENIZER TEXT_FILE\n");
    return 2;
  }
  auto tok = egret::tokenizer::Tokenizer::Load(argv[1]);
  if (!tok.ok()) return std::fprintf(stderr, "%s\n", tok.error().message().c_str()), 1;
  auto text = egret::ReadFile(argv[2]);
  if (!text.ok()) return std::fprintf(stderr, "%s\n", text.error().message().c_str()), 1;
  std::vector<std::string> docs;
  size_t at = 0, bytes = 0;
  while (at < text->size()) {
    size_t nl = text->find('\n', at);
    if (nl == std::string::npos) nl = text->size();
    docs.push_back(text->substr(at, nl - at) + "\n");
    bytes += docs.back().size();
    at = nl + 1;
  }
  for (size_t i = 0; i < docs.size() / 20; ++i) (void)tok->Encode(docs[i], false);
  size_t tokens = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& d : docs) {
    auto ids = tok->Encode(d, false);
    if (!ids.ok()) return std::fprintf(stderr, "%s\n", ids.error().message().c_str()), 1;
    tokens += ids->size();
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"mb_per_s\": %.3f, \"tokens\": %zu, \"bytes\": %zu, \"seconds\": %.3f}\n", bytes / s / 1e6, tokens,
              bytes, s);
}
