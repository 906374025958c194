#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/pipeline.h"

namespace egret::tokenizer {

std::string Quote(const std::string& s) { return nlohmann::json(s).dump(); }

Result<bool> GetBool(const nlohmann::json& j, const char* key, bool fallback, const Where& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    return Error(where + "." + key + " must be true or false (got " + it->dump() + ")");
  return it->get<bool>();
}

Result<std::string> GetString(const nlohmann::json& j, const char* key, const Where& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return Error(where + "." + key + " must be a string (got " +
                 (it == j.end() ? std::string("nothing") : it->dump()) + ")");
  return it->get<std::string>();
}

Result<std::string> GetType(const nlohmann::json& j, const Where& where) {
  if (!j.is_object()) return Error(where + " must be an object or null (got " + j.dump() + ")");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) return Error(where + ".type is missing");
  return it->get<std::string>();
}

}  // namespace egret::tokenizer
