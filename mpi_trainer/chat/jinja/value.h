// Values of the chat-template interpreter: Python's types as Jinja2 sees them (undefined,
// None, bool, int, float, str, list/tuple, dict, namespace, callables), with Python's str(),
// repr(), truthiness, equality and ordering. Dicts keep insertion order, as Python's do.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace egret::chat::jinja {

// Raised inside the interpreter; Template::Render turns it into an Error value.
class TemplateError : public std::runtime_error {
 public:
  explicit TemplateError(const std::string& msg, int line = 0) : std::runtime_error(msg), line(line) {}
  int line;
};

class Value;
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value v);
};
struct Args;
struct Function {
  std::string name;
  std::function<Value(Args&)> call;
};

class Value {
 public:
  struct Undefined {
    std::string name;  // what was looked up, for error messages
  };
  using ListPtr = std::shared_ptr<std::vector<Value>>;
  using DictPtr = std::shared_ptr<Dict>;
  using FnPtr = std::shared_ptr<Function>;

  Value() : v_(Undefined{}) {}
  static Value Undef(std::string name) { Value x; x.v_ = Undefined{std::move(name)}; return x; }
  static Value None() { Value x; x.v_ = nullptr; return x; }
  Value(bool b) : v_(b) {}                       // NOLINT
  Value(int64_t i) : v_(i) {}                    // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                     // NOLINT
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT
  static Value List(std::vector<Value> items = {}, bool tuple = false);
  static Value MakeDict(Dict d = {}, bool is_namespace = false);
  static Value Fn(std::string name, std::function<Value(Args&)> call);

  bool is_undefined() const { return v_.index() == 0; }
  bool is_none() const { return v_.index() == 1; }
  bool is_bool() const { return v_.index() == 2; }
  bool is_int() const { return v_.index() == 3; }
  bool is_float() const { return v_.index() == 4; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return v_.index() == 5; }
  bool is_list() const { return v_.index() == 6; }
  bool is_dict() const { return v_.index() == 7; }
  bool is_callable() const { return v_.index() == 8; }
  bool is_tuple() const { return is_list() && tuple_; }
  bool is_namespace() const { return is_dict() && namespace_; }

  bool b() const { return std::get<2>(v_); }
  int64_t i() const { return std::get<3>(v_); }
  double f() const { return std::get<4>(v_); }
  double num() const { return is_int() ? static_cast<double>(i()) : is_bool() ? b() : f(); }
  const std::string& s() const { return std::get<5>(v_); }
  std::vector<Value>& list() const { return *std::get<6>(v_); }
  Dict& dict() const { return *std::get<7>(v_); }
  const Function& fn() const { return *std::get<8>(v_); }
  const std::string& undefined_name() const { return std::get<0>(v_).name; }

  // Python's type name, for error messages ("str", "list", "NoneType", ...).
  std::string TypeName() const;

  static Value FromJson(const nlohmann::ordered_json& j);

 private:
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, ListPtr, DictPtr, FnPtr> v_;
  bool tuple_ = false;
  bool namespace_ = false;
};

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // Positional argument I, or keyword NAME, or FALLBACK.
  Value Get(size_t i, const char* name, Value fallback = Value()) const;
  bool Has(size_t i, const char* name) const;
};

bool Truthy(const Value& v);
// str(v) as Jinja prints it: undefined prints as "".
std::string Str(const Value& v);
std::string Repr(const Value& v);
bool Equal(const Value& a, const Value& b);
// Python's <, or a TemplateError for unorderable types.
bool Less(const Value& a, const Value& b);
// json.dumps(v, ensure_ascii=False, indent=INDENT (-1: none), sort_keys=SORT).
std::string ToJson(const Value& v, int indent, bool sort_keys);
std::string PyFloat(double d);

// Code-point helpers for Python's str semantics over UTF-8.
std::vector<uint32_t> CodePoints(std::string_view s);
std::string FromCodePoints(const std::vector<uint32_t>& cps, size_t b, size_t e);
bool IsPySpace(uint32_t cp);

}  // namespace egret::chat::jinja
