#include "tests/tokenizer/fixtures.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>

#include "common/fs.h"

namespace egret::tokenizer::testing {

std::string CacheDir() {
  const char* env = std::getenv("EGRET_TOKENIZERS");
  return env ? env : "/var/cache/egret/tokenizers";
}

const Tokenizer* Installed(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second.get();
  std::string dir = CacheDir() + "/" + name;
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    ADD_FAILURE() << "tokenizer files missing: " << dir << " does not exist; run tools/install-deps "
                  << "(as root) to fetch them";
    return nullptr;
  }
  auto t = Tokenizer::Load(dir);
  if (!t.ok()) {
    ADD_FAILURE() << t.error().message();
    return nullptr;
  }
  return (loaded[name] = std::make_unique<Tokenizer>(std::move(t.value()))).get();
}

std::string ReadText(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    ADD_FAILURE() << text.error().message();
    return "";
  }
  return *text;
}

const nlohmann::json& Fixture(const std::string& file) {
  static std::map<std::string, nlohmann::json> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(file);
  if (it != cache.end()) return it->second;
  std::string text = ReadText(std::string(EGRET_SOURCE_DIR) + "/tests/fixtures/tokenizers/" + file);
  return cache[file] = nlohmann::json::parse(text, nullptr, false);
}

}  // namespace egret::tokenizer::testing
