#include "mpi_trainer/chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/utf8.h"

namespace egret::chat::jinja {

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::Set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

Value Value::List(std::vector<Value> items, bool tuple) {
  Value x;
  x.v_ = std::make_shared<std::vector<Value>>(std::move(items));
  x.tuple_ = tuple;
  return x;
}

Value Value::MakeDict(Dict d, bool is_namespace) {
  Value x;
  x.v_ = std::make_shared<Dict>(std::move(d));
  x.namespace_ = is_namespace;
  return x;
}

Value Value::Fn(std::string name, std::function<Value(Args&)> call) {
  Value x;
  x.v_ = std::make_shared<Function>(Function{std::move(name), std::move(call)});
  return x;
}

std::string Value::TypeName() const {
  switch (v_.index()) {
    case 0: return "undefined";
    case 1: return "NoneType";
    case 2: return "bool";
    case 3: return "int";
    case 4: return "float";
    case 5: return "str";
    case 6: return tuple_ ? "tuple" : "list";
    case 7: return namespace_ ? "Namespace" : "dict";
    default: return "function";
  }
}

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return None();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) items.push_back(FromJson(e));
      return List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(it.key(), FromJson(it.value()));
      return MakeDict(std::move(d));
    }
    default: return Undef("binary");
  }
}

Value Args::Get(size_t i, const char* name, Value fallback) const {
  if (i < pos.size()) return pos[i];
  for (const auto& [k, v] : kw)
    if (name && k == name) return v;
  return fallback;
}

bool Args::Has(size_t i, const char* name) const {
  if (i < pos.size()) return true;
  for (const auto& [k, v] : kw)
    if (name && k == name) return true;
  return false;
}

bool Truthy(const Value& v) {
  if (v.is_undefined() || v.is_none()) return false;
  if (v.is_bool()) return v.b();
  if (v.is_int()) return v.i() != 0;
  if (v.is_float()) return v.f() != 0.0;
  if (v.is_string()) return !v.s().empty();
  if (v.is_list()) return !v.list().empty();
  if (v.is_dict()) return v.is_namespace() || !v.dict().items.empty();
  return true;
}

std::string PyFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  // Shortest digits and exponent, then Python's repr layout.
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  } else if (exp >= 0) {
    if (static_cast<int>(digits.size()) <= exp + 1) {
      out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
    }
  } else {
    out = "0." + std::string(-exp - 1, '0') + digits;
  }
  return neg ? "-" + out : out;
}

namespace {

std::string ReprString(const std::string& s) {
  // Python prefers single quotes unless the string has one and no double quote.
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + static_cast<char>(q);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

void JsonString(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void JsonInto(const Value& v, int indent, bool sort, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out += std::string(static_cast<size_t>(indent * d), ' ');
  };
  const char* item_sep = indent < 0 ? ", " : ",";
  if (v.is_undefined()) throw TemplateError("tojson: cannot serialize an undefined value (" + v.undefined_name() + ")");
  if (v.is_none()) out += "null";
  else if (v.is_bool()) out += v.b() ? "true" : "false";
  else if (v.is_int()) out += std::to_string(v.i());
  else if (v.is_float()) {
    std::string f = PyFloat(v.f());
    out += f == "nan" ? "NaN" : f == "inf" ? "Infinity" : f == "-inf" ? "-Infinity" : f;
  } else if (v.is_string()) JsonString(v.s(), out);
  else if (v.is_list()) {
    out += '[';
    const auto& l = v.list();
    for (size_t k = 0; k < l.size(); ++k) {
      if (k) out += item_sep;
      newline(depth + 1);
      JsonInto(l[k], indent, sort, depth + 1, out);
    }
    if (!l.empty()) newline(depth);
    out += ']';
  } else if (v.is_dict()) {
    out += '{';
    std::vector<const std::pair<std::string, Value>*> items;
    for (const auto& kv : v.dict().items) items.push_back(&kv);
    if (sort) std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (size_t k = 0; k < items.size(); ++k) {
      if (k) out += item_sep;
      newline(depth + 1);
      JsonString(items[k]->first, out);
      out += ": ";
      JsonInto(items[k]->second, indent, sort, depth + 1, out);
    }
    if (!items.empty()) newline(depth);
    out += '}';
  } else {
    throw TemplateError("tojson: cannot serialize a " + v.TypeName());
  }
}

}  // namespace

std::string ToJson(const Value& v, int indent, bool sort_keys) {
  std::string out;
  JsonInto(v, indent, sort_keys, 0, out);
  return out;
}

std::string Repr(const Value& v) {
  if (v.is_string()) return ReprString(v.s());
  if (v.is_list()) {
    std::string out = v.is_tuple() ? "(" : "[";
    const auto& l = v.list();
    for (size_t k = 0; k < l.size(); ++k) out += (k ? ", " : "") + Repr(l[k]);
    if (v.is_tuple() && l.size() == 1) out += ",";
    return out + (v.is_tuple() ? ")" : "]");
  }
  if (v.is_dict() && !v.is_namespace()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, x] : v.dict().items) {
      out += (first ? "" : ", ") + ReprString(k) + ": " + Repr(x);
      first = false;
    }
    return out + "}";
  }
  return Str(v);
}

std::string Str(const Value& v) {
  if (v.is_undefined()) return "";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.b() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.i());
  if (v.is_float()) return PyFloat(v.f());
  if (v.is_string()) return v.s();
  if (v.is_namespace()) return "<Namespace>";
  if (v.is_callable()) return "<function " + v.fn().name + ">";
  return Repr(v);
}

bool Equal(const Value& a, const Value& b) {
  if ((a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool())) {
    if (a.is_float() || b.is_float()) return a.num() == b.num();
    int64_t x = a.is_bool() ? a.b() : a.i();
    int64_t y = b.is_bool() ? b.b() : b.i();
    return x == y;
  }
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_string() && b.is_string()) return a.s() == b.s();
  if (a.is_list() && b.is_list()) {
    if (a.is_tuple() != b.is_tuple() || a.list().size() != b.list().size()) return false;
    for (size_t k = 0; k < a.list().size(); ++k)
      if (!Equal(a.list()[k], b.list()[k])) return false;
    return true;
  }
  if (a.is_dict() && b.is_dict()) {
    if (a.is_namespace() || b.is_namespace()) return &a.dict() == &b.dict();
    if (a.dict().items.size() != b.dict().items.size()) return false;
    for (const auto& [k, x] : a.dict().items) {
      const Value* y = b.dict().Find(k);
      if (!y || !Equal(x, *y)) return false;
    }
    return true;
  }
  if (a.is_callable() && b.is_callable()) return &a.fn() == &b.fn();
  return false;
}

bool Less(const Value& a, const Value& b) {
  if ((a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool())) return a.num() < b.num();
  if (a.is_string() && b.is_string()) return a.s() < b.s();  // UTF-8 order is code-point order
  if (a.is_list() && b.is_list()) {
    const auto &x = a.list(), &y = b.list();
    for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
      if (Less(x[k], y[k])) return true;
      if (Less(y[k], x[k])) return false;
    }
    return x.size() < y.size();
  }
  throw TemplateError("'<' not supported between instances of '" + a.TypeName() + "' and '" + b.TypeName() + "'");
}

std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(DecodeUtf8(s, i));
  return out;
}

std::string FromCodePoints(const std::vector<uint32_t>& cps, size_t b, size_t e) {
  std::string out;
  for (size_t k = b; k < e; ++k) AppendUtf8(cps[k], out);
  return out;
}

bool IsPySpace(uint32_t cp) {
  // str.isspace(): Unicode White_Space plus the ASCII separators 0x1C-0x1F.
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace egret::chat::jinja
