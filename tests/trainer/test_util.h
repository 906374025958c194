// Helpers shared by the trainer tests: fixture paths, JSON, scratch directories.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace egret::trainer::testing {

inline std::string FixtureDir(const std::string& name) {
  return std::string(EGRET_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

inline nlohmann::json ReadJson(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return nullptr;
  return nlohmann::json::parse(*text);
}

// A fresh directory removed when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("egret-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

}  // namespace egret::trainer::testing
