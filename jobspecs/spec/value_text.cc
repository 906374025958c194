#include "jobspecs/spec/value_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace egret::jobspec {

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  // to_chars writes "1e-04"; "1e-4" reads the same and as people write it.
  if (auto e = s.find('e'); e != std::string::npos) {
    size_t digits = e + 1 + (s[e + 1] == '-' || s[e + 1] == '+');
    while (digits + 1 < s.size() && s[digits] == '0') s.erase(digits, 1);
  }
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string TomlValue(const Value& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return FormatNumber(d); }
    std::string operator()(const std::string& s) const { return TomlString(s); }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = "[";
      for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + TomlString(l[i]);
      return out + "]";
    }
  };
  return std::visit(Visitor{}, v);
}

std::string PlainValue(const Value& v) {
  if (auto s = std::get_if<std::string>(&v)) return *s;
  if (auto l = std::get_if<std::vector<std::string>>(&v)) {
    std::string out;
    for (size_t i = 0; i < l->size(); ++i) out += (i ? "," : "") + (*l)[i];
    return out;
  }
  return TomlValue(v);
}

std::string NodeText(const toml::node& node) {
  std::string s;
  switch (node.type()) {
    case toml::node_type::string: s = TomlString(node.as_string()->get()); break;
    case toml::node_type::integer: s = std::to_string(node.as_integer()->get()); break;
    case toml::node_type::floating_point: s = FormatNumber(node.as_floating_point()->get()); break;
    case toml::node_type::boolean: s = node.as_boolean()->get() ? "true" : "false"; break;
    case toml::node_type::array: {
      s = "[";
      const toml::array& a = *node.as_array();
      for (size_t i = 0; i < a.size(); ++i) s += (i ? ", " : "") + NodeText(*a.get(i));
      s += "]";
      break;
    }
    case toml::node_type::table: s = "{...}"; break;
    default: {
      std::ostringstream os;
      if (auto d = node.as_date()) os << *d;
      else if (auto t = node.as_time()) os << *t;
      else if (auto dt = node.as_date_time()) os << *dt;
      s = os.str();
    }
  }
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace egret::jobspec
