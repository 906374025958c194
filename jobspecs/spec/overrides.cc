#include "jobspecs/spec/overrides.h"

#include <cctype>

#include "common/strings.h"

namespace egret::jobspec {
namespace {

bool ValidKeyPart(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// The value as TOML when it reads as a number, boolean, quoted string or list; any other
// text (dates, times, bare words like acme or 10:00) is a plain string. Copies of toml++
// nodes carry no source position, so messages about these values say "--set KEY".
void InsertValue(toml::table& table, const std::string& key, const std::string& text) {
  try {
    toml::table t = toml::parse("v = " + text);
    toml::node* v = t.get("v");
    if (v && (v->is_number() || v->is_boolean() || v->is_string() || v->is_array())) {
      v->visit([&](auto&& n) { table.insert_or_assign(key, n); });
      return;
    }
  } catch (const toml::parse_error&) {
  }
  table.insert_or_assign(key, text);
}

}  // namespace

Status ApplyOverrides(toml::table& root, const std::vector<std::string>& overrides,
                      std::map<std::string, std::string>& raw) {
  for (const auto& kv : overrides) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error("--set " + kv + ": expected KEY=VALUE (e.g. --set training.lr=1e-4)");
    std::string dotted(Trim(std::string_view(kv).substr(0, eq)));
    std::string value(Trim(std::string_view(kv).substr(eq + 1)));
    auto parts = Split(dotted, '.');
    for (const auto& p : parts)
      if (!ValidKeyPart(p))
        return Error("--set " + kv + ": \"" + dotted + "\" is not a dotted key (e.g. training.lr)");
    toml::table* t = &root;
    std::string so_far;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      so_far += (i ? "." : "") + parts[i];
      toml::node* n = t->get(parts[i]);
      if (!n) {
        t->insert(parts[i], toml::table{});
        n = t->get(parts[i]);
      }
      if (!n->is_table())
        return Error("--set " + kv + ": \"" + so_far + "\" is not a table, so it has no key \"" +
                     parts[i + 1] + "\"");
      t = n->as_table();
    }
    InsertValue(*t, parts.back(), value);
    raw[dotted] = value;
  }
  return Ok();
}

}  // namespace egret::jobspec
