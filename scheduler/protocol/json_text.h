// Writing small JSON objects straight into a string, for the replies the daemon sends most
// (a lease, an acknowledgement): building an nlohmann object for them costs more than the
// syscall that sends them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace egret::quotad {

// Appends S as a JSON string (quoted, escaped; bytes that are not valid UTF-8 become U+FFFD).
void AppendJsonString(std::string* out, std::string_view s);
// Appends a number the way nlohmann::json would read it back exactly.
void AppendJsonNumber(std::string* out, double v);
void AppendJsonNumber(std::string* out, int64_t v);

// {"k": v, ...} built field by field.
class JsonObject {
 public:
  explicit JsonObject(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonObject& Str(std::string_view key, std::string_view v);
  JsonObject& Int(std::string_view key, int64_t v);
  JsonObject& Num(std::string_view key, double v);
  JsonObject& Bool(std::string_view key, bool v);
  JsonObject& Null(std::string_view key);
  // Appends already-encoded JSON as the value.
  JsonObject& Raw(std::string_view key, std::string_view json);
  void Close() { out_->push_back('}'); }

 private:
  void Key(std::string_view key);
  std::string* out_;
  bool first_ = true;
};

}  // namespace egret::quotad
