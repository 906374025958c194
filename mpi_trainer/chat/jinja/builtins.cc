#include "mpi_trainer/chat/jinja/builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include <unicode/uchar.h>

namespace egret::chat::jinja {
namespace {

[[noreturn]] void Fail(const std::string& msg) { throw TemplateError(msg); }

std::string AsStr(const Value& v) { return Str(v); }

int64_t AsInt(const Value& v, const char* what) {
  if (v.is_int()) return v.i();
  if (v.is_bool()) return v.b();
  Fail(std::string(what) + " must be an integer (got " + v.TypeName() + ")");
}

// Python's str.strip family over code points.
std::string StripChars(const std::string& s, const Value& chars, bool left, bool right) {
  std::vector<uint32_t> cps = CodePoints(s);
  std::set<uint32_t> set;
  bool ws = chars.is_undefined() || chars.is_none();
  if (!ws) {
    if (!chars.is_string()) Fail("strip arg must be None or str");
    for (uint32_t c : CodePoints(chars.s())) set.insert(c);
  }
  auto drop = [&](uint32_t c) { return ws ? IsPySpace(c) : set.count(c) > 0; };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && drop(cps[b])) ++b;
  if (right)
    while (e > b && drop(cps[e - 1])) --e;
  return FromCodePoints(cps, b, e);
}

std::vector<std::string> SplitStr(const std::string& s, const Value& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.is_undefined() || sep.is_none()) {
    std::vector<uint32_t> cps = CodePoints(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && IsPySpace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > i && IsPySpace(cps[e - 1])) --e;
        out.push_back(FromCodePoints(cps, i, e));
        break;
      }
      size_t b = i;
      while (i < cps.size() && !IsPySpace(cps[i])) ++i;
      out.push_back(FromCodePoints(cps, b, i));
    }
    return out;
  }
  if (!sep.is_string()) Fail("split separator must be a string");
  const std::string& d = sep.s();
  if (d.empty()) Fail("split: empty separator");
  size_t at = 0;
  while (true) {
    size_t f = s.find(d, at);
    if (f == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
      out.push_back(s.substr(at));
      return out;
    }
    out.push_back(s.substr(at, f - at));
    at = f + d.size();
  }
}

std::string CaseMap(const std::string& s, int mode) {  // 0 lower, 1 upper, 2 title, 3 capitalize
  std::vector<uint32_t> cps = CodePoints(s);
  bool prev_cased = false;
  for (size_t k = 0; k < cps.size(); ++k) {
    UChar32 c = static_cast<UChar32>(cps[k]);
    bool to_upper = mode == 1 || (mode == 2 && !prev_cased) || (mode == 3 && k == 0);
    cps[k] = static_cast<uint32_t>(to_upper ? u_toupper(c) : u_tolower(c));
    prev_cased = u_hasBinaryProperty(c, UCHAR_CASED) || u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE);
    if (mode == 2) prev_cased = u_isalpha(c);
  }
  return FromCodePoints(cps, 0, cps.size());
}

std::string Replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  size_t at = 0;
  int64_t n = 0;
  if (from.empty()) {
    // Python inserts TO between every character.
    std::vector<uint32_t> cps = CodePoints(s);
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (count < 0 || n < count) out += to, ++n;
      if (k < cps.size()) out += FromCodePoints(cps, k, k + 1);
    }
    return out;
  }
  while (true) {
    size_t f = s.find(from, at);
    if (f == std::string::npos || (count >= 0 && n >= count)) break;
    out += s.substr(at, f - at) + to;
    at = f + from.size();
    ++n;
  }
  return out + s.substr(at);
}

Value Method(const Value& obj, const std::string& name, std::function<Value(Args&)> fn) {
  (void)obj;
  return Value::Fn(name, std::move(fn));
}

Value StrMethod(const Value& obj, const std::string& name) {
  std::string s = obj.s();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    return Method(obj, name, [s, l, r](Args& a) { return Value(StripChars(s, a.Get(0, "chars"), l, r)); });
  }
  if (name == "split" || name == "rsplit") {
    return Method(obj, name, [s, name](Args& a) {
      int64_t max = a.Has(1, "maxsplit") ? AsInt(a.Get(1, "maxsplit"), "maxsplit") : -1;
      if (name == "rsplit" && max >= 0) Fail("rsplit with maxsplit is not supported");
      std::vector<Value> parts;
      for (auto& p : SplitStr(s, a.Get(0, "sep"), max)) parts.emplace_back(p);
      return Value::List(std::move(parts));
    });
  }
  if (name == "startswith" || name == "endswith") {
    bool starts = name == "startswith";
    return Method(obj, name, [s, starts](Args& a) {
      Value p = a.Get(0, "prefix");
      std::vector<Value> options = p.is_tuple() || p.is_list() ? p.list() : std::vector<Value>{p};
      for (const auto& o : options) {
        if (!o.is_string()) Fail("startswith/endswith arg must be str or a tuple of str");
        const std::string& x = o.s();
        if (x.size() <= s.size() &&
            (starts ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0))
          return Value(true);
      }
      return Value(false);
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    int mode = name == "lower" ? 0 : name == "upper" ? 1 : name == "title" ? 2 : 3;
    return Method(obj, name, [s, mode](Args&) { return Value(CaseMap(s, mode)); });
  }
  if (name == "replace") {
    return Method(obj, name, [s](Args& a) {
      Value from = a.Get(0, "old"), to = a.Get(1, "new");
      if (!from.is_string() || !to.is_string()) Fail("replace arguments must be str");
      int64_t count = a.Has(2, "count") ? AsInt(a.Get(2, "count"), "count") : -1;
      return Value(Replace(s, from.s(), to.s(), count));
    });
  }
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    return Method(obj, name, [s, name](Args& a) {
      Value x = a.Get(0, "sub");
      if (!x.is_string()) Fail(name + " argument must be str");
      if (name == "count") {
        if (x.s().empty()) return Value(static_cast<int64_t>(CodePoints(s).size() + 1));
        int64_t n = 0;
        for (size_t at = s.find(x.s()); at != std::string::npos; at = s.find(x.s(), at + x.s().size())) ++n;
        return Value(n);
      }
      size_t at = name == "rfind" ? s.rfind(x.s()) : s.find(x.s());
      if (at == std::string::npos) {
        if (name == "index") Fail("substring not found");
        return Value(static_cast<int64_t>(-1));
      }
      return Value(static_cast<int64_t>(CodePoints(s.substr(0, at)).size()));
    });
  }
  if (name == "join") {
    return Method(obj, name, [s](Args& a) {
      std::string out;
      bool first = true;
      for (const auto& x : Iterate(a.Get(0, "iterable"))) {
        if (!x.is_string()) Fail("join: sequence item is " + x.TypeName() + ", expected str");
        out += (first ? "" : s) + x.s();
        first = false;
      }
      return Value(out);
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    return Method(obj, name, [s, name](Args&) {
      std::vector<uint32_t> cps = CodePoints(s);
      if (cps.empty()) return Value(false);
      bool cased = false;
      for (uint32_t c : cps) {
        UChar32 u = static_cast<UChar32>(c);
        if (name == "isdigit" && !u_isdigit(u)) return Value(false);
        if (name == "isalpha" && !u_isalpha(u)) return Value(false);
        if (name == "isalnum" && !u_isalnum(u)) return Value(false);
        if (name == "isspace" && !IsPySpace(c)) return Value(false);
        if (name == "islower" && u_isupper(u)) return Value(false);
        if (name == "isupper" && u_islower(u)) return Value(false);
        if (u_isupper(u) || u_islower(u)) cased = true;
      }
      return Value((name != "islower" && name != "isupper") || cased);
    });
  }
  if (name == "splitlines") {
    return Method(obj, name, [s](Args&) {
      std::vector<Value> lines;
      size_t at = 0;
      while (at < s.size()) {
        size_t nl = s.find_first_of("\r\n", at);
        if (nl == std::string::npos) {
          lines.emplace_back(s.substr(at));
          break;
        }
        lines.emplace_back(s.substr(at, nl - at));
        at = nl + (s.compare(nl, 2, "\r\n") == 0 ? 2 : 1);
      }
      return Value::List(std::move(lines));
    });
  }
  return Value::Undef("str." + name);
}

Value DictMethod(const Value& obj, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Method(obj, name, [obj, name](Args&) {
      std::vector<Value> out;
      for (const auto& [k, v] : obj.dict().items) {
        if (name == "items") out.push_back(Value::List({Value(k), v}, true));
        else if (name == "keys") out.emplace_back(k);
        else out.push_back(v);
      }
      return Value::List(std::move(out));
    });
  }
  if (name == "get") {
    return Method(obj, name, [obj](Args& a) {
      Value k = a.Get(0, "key");
      if (k.is_string())
        if (const Value* v = obj.dict().Find(k.s())) return *v;
      return a.Get(1, "default", Value::None());
    });
  }
  return Value::Undef("dict." + name);
}

bool Compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==" || op == "eq" || op == "equalto") return Equal(a, b);
  if (op == "!=" || op == "ne") return !Equal(a, b);
  if (op == "<" || op == "lt") return Less(a, b);
  if (op == "<=" || op == "le") return !Less(b, a);
  if (op == ">" || op == "gt") return Less(b, a);
  if (op == ">=" || op == "ge") return !Less(a, b);
  Fail("unknown comparison " + op);
}

// The attribute path of map/selectattr/sort (dots go deeper, digits index lists).
Value Attribute(const Value& v, const std::string& path) {
  Value cur = v;
  size_t at = 0;
  while (at <= path.size()) {
    size_t dot = path.find('.', at);
    std::string part = path.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits && cur.is_list() ? GetItem(cur, Value(static_cast<int64_t>(std::stoll(part)))) : GetAttr(cur, part);
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  return cur;
}

Args Rest(Args& a, size_t from) {
  Args r;
  for (size_t k = from; k < a.pos.size(); ++k) r.pos.push_back(a.pos[k]);
  return r;
}

std::vector<Value> SortValues(std::vector<Value> items, bool reverse, bool case_sensitive, const Value& attribute) {
  auto key = [&](const Value& x) {
    Value k = attribute.is_string() ? Attribute(x, attribute.s()) : x;
    if (!case_sensitive && k.is_string()) return Value(CaseMap(k.s(), 0));
    return k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? Less(key(y), key(x)) : Less(key(x), key(y));
  });
  return items;
}

using FilterFn = Value (*)(const Value&, Args&);
using TestFn = bool (*)(const Value&, Args&);

const std::map<std::string, FilterFn>& Filters() {
  static const std::map<std::string, FilterFn> f = {
      {"trim", [](const Value& v, Args& a) { return Value(StripChars(AsStr(v), a.Get(0, "chars"), true, true)); }},
      {"tojson", [](const Value& v, Args& a) {
         Value indent = a.Get(0, "indent");
         return Value(ToJson(v, indent.is_int() ? static_cast<int>(indent.i()) : -1, Truthy(a.Get(99, "sort_keys"))));
       }},
      {"length", [](const Value& v, Args&) { return Value(static_cast<int64_t>(Length(v))); }},
      {"count", [](const Value& v, Args&) { return Value(static_cast<int64_t>(Length(v))); }},
      {"string", [](const Value& v, Args&) { return Value(AsStr(v)); }},
      {"upper", [](const Value& v, Args&) { return Value(CaseMap(AsStr(v), 1)); }},
      {"lower", [](const Value& v, Args&) { return Value(CaseMap(AsStr(v), 0)); }},
      {"title", [](const Value& v, Args&) { return Value(CaseMap(AsStr(v), 2)); }},
      {"capitalize", [](const Value& v, Args&) { return Value(CaseMap(AsStr(v), 3)); }},
      {"safe", [](const Value& v, Args&) { return v; }},
      {"list", [](const Value& v, Args&) { return Value::List(Iterate(v)); }},
      {"first", [](const Value& v, Args&) {
         auto items = Iterate(v);
         return items.empty() ? Value::Undef("first of an empty sequence") : items.front();
       }},
      {"last", [](const Value& v, Args&) {
         auto items = Iterate(v);
         return items.empty() ? Value::Undef("last of an empty sequence") : items.back();
       }},
      {"reverse", [](const Value& v, Args&) {
         if (v.is_string()) {
           auto cps = CodePoints(v.s());
           std::reverse(cps.begin(), cps.end());
           return Value(FromCodePoints(cps, 0, cps.size()));
         }
         auto items = Iterate(v);
         std::reverse(items.begin(), items.end());
         return Value::List(std::move(items));
       }},
      {"join", [](const Value& v, Args& a) {
         Value sep = a.Get(0, "d", Value(""));
         Value attr = a.Get(1, "attribute");
         std::string out;
         bool first = true;
         for (const auto& x : Iterate(v)) {
           out += (first ? "" : AsStr(sep)) + AsStr(attr.is_string() ? Attribute(x, attr.s()) : x);
           first = false;
         }
         return Value(out);
       }},
      {"default", [](const Value& v, Args& a) {
         bool boolean = Truthy(a.Get(1, "boolean", Value(false)));
         if (v.is_undefined() || (boolean && !Truthy(v))) return a.Get(0, "default_value", Value(""));
         return v;
       }},
      {"items", [](const Value& v, Args&) {
         if (v.is_undefined()) return Value::List();
         if (!v.is_dict()) Fail("items filter needs a mapping (got " + v.TypeName() + ")");
         Args none;
         return DictMethod(v, "items").fn().call(none);
       }},
      {"dictsort", [](const Value& v, Args& a) {
         if (!v.is_dict()) Fail("dictsort needs a mapping (got " + v.TypeName() + ")");
         std::vector<Value> items;
         for (const auto& [k, x] : v.dict().items) items.push_back(Value::List({Value(k), x}, true));
         bool by_value = a.Get(1, "by", Value("key")).is_string() && a.Get(1, "by", Value("key")).s() == "value";
         bool cs = Truthy(a.Get(0, "case_sensitive", Value(false)));
         bool rev = Truthy(a.Get(2, "reverse", Value(false)));
         std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
           Value kx = x.list()[by_value ? 1 : 0], ky = y.list()[by_value ? 1 : 0];
           if (!cs && kx.is_string() && ky.is_string()) kx = Value(CaseMap(kx.s(), 0)), ky = Value(CaseMap(ky.s(), 0));
           return rev ? Less(ky, kx) : Less(kx, ky);
         });
         return Value::List(std::move(items));
       }},
      {"sort", [](const Value& v, Args& a) {
         return Value::List(SortValues(Iterate(v), Truthy(a.Get(0, "reverse", Value(false))),
                                       Truthy(a.Get(1, "case_sensitive", Value(false))), a.Get(2, "attribute")));
       }},
      {"unique", [](const Value& v, Args& a) {
         Value attr = a.Get(1, "attribute");
         std::vector<Value> out, keys;
         for (const auto& x : Iterate(v)) {
           Value k = attr.is_string() ? Attribute(x, attr.s()) : x;
           if (k.is_string() && !Truthy(a.Get(0, "case_sensitive", Value(false)))) k = Value(CaseMap(k.s(), 0));
           bool seen = false;
           for (const auto& y : keys) seen = seen || Equal(k, y);
           if (!seen) keys.push_back(k), out.push_back(x);
         }
         return Value::List(std::move(out));
       }},
      {"map", [](const Value& v, Args& a) {
         std::vector<Value> out;
         Value attr = a.Get(99, "attribute");
         if (attr.is_string()) {
           Value def = a.Get(99, "default");
           for (const auto& x : Iterate(v)) {
             Value y = Attribute(x, attr.s());
             out.push_back(y.is_undefined() && !def.is_undefined() ? def : y);
           }
           return Value::List(std::move(out));
         }
         Value name = a.Get(0, "name");
         if (!name.is_string()) Fail("map needs a filter name or attribute=");
         if (!HasFilter(name.s())) Fail("map: unknown filter '" + name.s() + "'");
         Args rest = Rest(a, 1);
         for (const auto& x : Iterate(v)) out.push_back(ApplyFilter(name.s(), x, rest));
         return Value::List(std::move(out));
       }},
      {"select", [](const Value& v, Args& a) {
         std::vector<Value> out;
         Value test = a.Get(0, "test");
         Args rest = Rest(a, 1);
         for (const auto& x : Iterate(v))
           if (test.is_string() ? ApplyTest(test.s(), x, rest) : Truthy(x)) out.push_back(x);
         return Value::List(std::move(out));
       }},
      {"reject", [](const Value& v, Args& a) {
         std::vector<Value> out;
         Value test = a.Get(0, "test");
         Args rest = Rest(a, 1);
         for (const auto& x : Iterate(v))
           if (!(test.is_string() ? ApplyTest(test.s(), x, rest) : Truthy(x))) out.push_back(x);
         return Value::List(std::move(out));
       }},
      {"selectattr", [](const Value& v, Args& a) {
         std::vector<Value> out;
         Value attr = a.Get(0, "attr"), test = a.Get(1, "test");
         if (!attr.is_string()) Fail("selectattr needs an attribute name");
         Args rest = Rest(a, 2);
         for (const auto& x : Iterate(v)) {
           Value y = Attribute(x, attr.s());
           if (test.is_string() ? ApplyTest(test.s(), y, rest) : Truthy(y)) out.push_back(x);
         }
         return Value::List(std::move(out));
       }},
      {"rejectattr", [](const Value& v, Args& a) {
         std::vector<Value> out;
         Value attr = a.Get(0, "attr"), test = a.Get(1, "test");
         if (!attr.is_string()) Fail("rejectattr needs an attribute name");
         Args rest = Rest(a, 2);
         for (const auto& x : Iterate(v)) {
           Value y = Attribute(x, attr.s());
           if (!(test.is_string() ? ApplyTest(test.s(), y, rest) : Truthy(y))) out.push_back(x);
         }
         return Value::List(std::move(out));
       }},
      {"int", [](const Value& v, Args& a) {
         if (v.is_int()) return v;
         if (v.is_bool()) return Value(static_cast<int64_t>(v.b()));
         if (v.is_float()) return Value(static_cast<int64_t>(v.f()));
         if (v.is_string()) {
           try {
             size_t n = 0;
             int64_t x = std::stoll(v.s(), &n);
             if (n == v.s().size()) return Value(x);
             return Value(static_cast<int64_t>(std::stod(v.s())));
           } catch (...) {
           }
         }
         return a.Get(0, "default", Value(0));
       }},
      {"float", [](const Value& v, Args& a) {
         if (v.is_number() || v.is_bool()) return Value(v.num());
         if (v.is_string()) {
           try {
             return Value(std::stod(v.s()));
           } catch (...) {
           }
         }
         return a.Get(0, "default", Value(0.0));
       }},
      {"abs", [](const Value& v, Args&) {
         if (v.is_int()) return Value(v.i() < 0 ? -v.i() : v.i());
         if (v.is_float()) return Value(std::fabs(v.f()));
         Fail("bad operand type for abs(): '" + v.TypeName() + "'");
       }},
      {"round", [](const Value& v, Args& a) {
         int64_t prec = a.Has(0, "precision") ? AsInt(a.Get(0, "precision"), "precision") : 0;
         std::string method = a.Has(1, "method") ? AsStr(a.Get(1, "method")) : "common";
         double x = v.num(), m = std::pow(10.0, static_cast<double>(prec));
         double r = method == "ceil" ? std::ceil(x * m) / m : method == "floor" ? std::floor(x * m) / m : std::round(x * m) / m;
         return Value(r);
       }},
      {"replace", [](const Value& v, Args& a) {
         int64_t count = a.Has(2, "count") ? AsInt(a.Get(2, "count"), "count") : -1;
         return Value(Replace(AsStr(v), AsStr(a.Get(0, "old")), AsStr(a.Get(1, "new")), count));
       }},
      {"indent", [](const Value& v, Args& a) {
         Value w = a.Get(0, "width", Value(4));
         std::string pad = w.is_string() ? w.s() : std::string(static_cast<size_t>(AsInt(w, "width")), ' ');
         bool first = Truthy(a.Get(1, "first", Value(false))), blank = Truthy(a.Get(2, "blank", Value(false)));
         std::string s = AsStr(v), out;
         size_t at = 0;
         bool is_first = true;
         while (true) {
           size_t nl = s.find('\n', at);
           std::string line = s.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
           bool indent = is_first ? first : (blank || !line.empty());
           out += (indent ? pad : "") + line;
           if (nl == std::string::npos) break;
           out += '\n';
           at = nl + 1;
           is_first = false;
         }
         return Value(out);
       }},
      {"wordcount", [](const Value& v, Args&) {
         // Runs of Python's \w: letters, numbers, underscore.
         int64_t n = 0;
         bool in_word = false;
         for (uint32_t c : CodePoints(AsStr(v))) {
           int8_t t = u_charType(static_cast<UChar32>(c));
           bool w = c == '_' || u_isalpha(static_cast<UChar32>(c)) || t == U_DECIMAL_DIGIT_NUMBER ||
                    t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
           if (w && !in_word) ++n;
           in_word = w;
         }
         return Value(n);
       }},
      {"sum", [](const Value& v, Args& a) {
         Value attr = a.Get(0, "attribute");
         Value total = a.Get(1, "start", Value(0));
         for (const auto& x : Iterate(v)) {
           Value y = attr.is_string() ? Attribute(x, attr.s()) : x;
           if (total.is_int() && y.is_int()) total = Value(total.i() + y.i());
           else total = Value(total.num() + y.num());
         }
         return total;
       }},
      {"min", [](const Value& v, Args&) {
         auto items = Iterate(v);
         if (items.empty()) return Value::Undef("min of an empty sequence");
         Value best = items[0];
         for (const auto& x : items) if (Less(x, best)) best = x;
         return best;
       }},
      {"max", [](const Value& v, Args&) {
         auto items = Iterate(v);
         if (items.empty()) return Value::Undef("max of an empty sequence");
         Value best = items[0];
         for (const auto& x : items) if (Less(best, x)) best = x;
         return best;
       }},
      {"escape", [](const Value& v, Args&) {
         std::string out;
         for (char c : AsStr(v)) {
           switch (c) {
             case '&': out += "&amp;"; break;
             case '<': out += "&lt;"; break;
             case '>': out += "&gt;"; break;
             case '"': out += "&#34;"; break;
             case '\'': out += "&#39;"; break;
             default: out += c;
           }
         }
         return Value(out);
       }},
  };
  return f;
}

const std::map<std::string, TestFn>& Tests() {
  static const std::map<std::string, TestFn> t = {
      {"defined", [](const Value& v, Args&) { return !v.is_undefined(); }},
      {"undefined", [](const Value& v, Args&) { return v.is_undefined(); }},
      {"none", [](const Value& v, Args&) { return v.is_none(); }},
      {"string", [](const Value& v, Args&) { return v.is_string(); }},
      {"number", [](const Value& v, Args&) { return v.is_number(); }},
      {"integer", [](const Value& v, Args&) { return v.is_int(); }},
      {"float", [](const Value& v, Args&) { return v.is_float(); }},
      {"boolean", [](const Value& v, Args&) { return v.is_bool(); }},
      {"true", [](const Value& v, Args&) { return v.is_bool() && v.b(); }},
      {"false", [](const Value& v, Args&) { return v.is_bool() && !v.b(); }},
      {"mapping", [](const Value& v, Args&) { return v.is_dict() && !v.is_namespace(); }},
      {"sequence", [](const Value& v, Args&) { return v.is_list() || v.is_string() || (v.is_dict() && !v.is_namespace()); }},
      {"iterable", [](const Value& v, Args&) { return v.is_list() || v.is_string() || (v.is_dict() && !v.is_namespace()); }},
      {"callable", [](const Value& v, Args&) { return v.is_callable(); }},
      {"even", [](const Value& v, Args&) { return AsInt(v, "even") % 2 == 0; }},
      {"odd", [](const Value& v, Args&) { return AsInt(v, "odd") % 2 != 0; }},
      {"divisibleby", [](const Value& v, Args& a) {
         int64_t d = AsInt(a.Get(0, "num"), "divisibleby");
         return d != 0 && AsInt(v, "divisibleby") % d == 0;
       }},
      {"lower", [](const Value& v, Args&) { return v.is_string() && CaseMap(v.s(), 0) == v.s(); }},
      {"upper", [](const Value& v, Args&) { return v.is_string() && CaseMap(v.s(), 1) == v.s(); }},
      {"in", [](const Value& v, Args& a) {
         Value seq = a.Get(0, "seq");
         if (seq.is_string()) return v.is_string() && seq.s().find(v.s()) != std::string::npos;
         if (seq.is_dict()) return v.is_string() && seq.dict().Find(v.s()) != nullptr;
         for (const auto& x : Iterate(seq)) if (Equal(x, v)) return true;
         return false;
       }},
      {"sameas", [](const Value& v, Args& a) {
         Value o = a.Get(0, "other");
         if (v.is_none() || v.is_bool() || o.is_none() || o.is_bool()) return Equal(v, o) && v.TypeName() == o.TypeName();
         if (v.is_list() && o.is_list()) return &v.list() == &o.list();
         if (v.is_dict() && o.is_dict()) return &v.dict() == &o.dict();
         return false;
       }},
  };
  return t;
}

const char* kCompareTests[] = {"eq", "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "lessthan", "greaterthan"};

}  // namespace

bool HasFilter(const std::string& name) {
  return Filters().count(name) || name == "d" || name == "e";
}

bool HasTest(const std::string& name) {
  if (Tests().count(name)) return true;
  for (const char* c : kCompareTests)
    if (name == c) return true;
  return false;
}

Value ApplyFilter(const std::string& name, const Value& v, Args& args) {
  std::string n = name == "d" ? "default" : name == "e" ? "escape" : name;
  auto it = Filters().find(n);
  if (it == Filters().end()) Fail("unknown filter '" + name + "'");
  return it->second(v, args);
}

bool ApplyTest(const std::string& name, const Value& v, Args& args) {
  for (const char* c : kCompareTests) {
    if (name == c) {
      std::string op = name == "lessthan" ? "lt" : name == "greaterthan" ? "gt" : name;
      return Compare(op, v, args.Get(0, "other"));
    }
  }
  auto it = Tests().find(name);
  if (it == Tests().end()) Fail("unknown test '" + name + "'");
  return it->second(v, args);
}

Value GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) Fail("'" + obj.undefined_name() + "' is undefined (reading ." + name + ")");
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(name)) return *v;
    if (obj.is_namespace()) return Value::Undef(name);
    Value m = DictMethod(obj, name);
    return m.is_undefined() ? Value::Undef(name) : m;
  }
  if (obj.is_string()) return StrMethod(obj, name);
  if (obj.is_none()) Fail("None has no attribute '" + name + "'");
  return Value::Undef(name);
}

Value GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) Fail("'" + obj.undefined_name() + "' is undefined (reading [" + Repr(key) + "])");
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict().Find(key.s())) return *v;
      return Value::Undef(key.s());
    }
    return Value::Undef(Str(key));
  }
  if (obj.is_list() || obj.is_string()) {
    if (!key.is_int() && !key.is_bool()) {
      if (key.is_string()) return GetAttr(obj, key.s());
      Fail(obj.TypeName() + " indices must be integers, not " + key.TypeName());
    }
    int64_t i = key.is_int() ? key.i() : key.b();
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.list().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::Undef("index " + std::to_string(key.is_int() ? key.i() : i));
      return obj.list()[static_cast<size_t>(i)];
    }
    auto cps = CodePoints(obj.s());
    int64_t n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::Undef("index " + std::to_string(i));
    return Value(FromCodePoints(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
  }
  if (obj.is_none()) Fail("'NoneType' object is not subscriptable");
  return Value::Undef(Str(key));
}

Value Slice(const Value& obj, const Value& lo, const Value& hi, const Value& step_v) {
  if (obj.is_undefined()) Fail("'" + obj.undefined_name() + "' is undefined (slicing it)");
  int64_t step = step_v.is_undefined() || step_v.is_none() ? 1 : AsInt(step_v, "slice step");
  if (step == 0) Fail("slice step cannot be zero");
  std::vector<uint32_t> cps;
  int64_t n;
  if (obj.is_string()) {
    cps = CodePoints(obj.s());
    n = static_cast<int64_t>(cps.size());
  } else if (obj.is_list()) {
    n = static_cast<int64_t>(obj.list().size());
  } else {
    Fail("cannot slice a " + obj.TypeName());
  }
  auto bound = [&](const Value& v, int64_t def, bool upper) {
    if (v.is_undefined() || v.is_none()) return def;
    int64_t x = AsInt(v, "slice index");
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1) + (upper ? 0 : 0);
  };
  int64_t b = bound(lo, step > 0 ? 0 : n - 1, false);
  int64_t e = bound(hi, step > 0 ? n : -1, true);
  std::vector<int64_t> idx;
  if (step > 0)
    for (int64_t k = b; k < e; k += step) idx.push_back(k);
  else
    for (int64_t k = b; k > e; k += step) idx.push_back(k);
  if (obj.is_string()) {
    std::vector<uint32_t> sel;
    for (int64_t k : idx) sel.push_back(cps[static_cast<size_t>(k)]);
    return Value(FromCodePoints(sel, 0, sel.size()));
  }
  std::vector<Value> out;
  for (int64_t k : idx) out.push_back(obj.list()[static_cast<size_t>(k)]);
  return Value::List(std::move(out), obj.is_tuple());
}

std::vector<Value> Iterate(const Value& v) {
  if (v.is_undefined()) return {};
  if (v.is_list()) return v.list();
  if (v.is_dict() && !v.is_namespace()) {
    std::vector<Value> keys;
    for (const auto& [k, x] : v.dict().items) keys.emplace_back(k);
    return keys;
  }
  if (v.is_string()) {
    auto cps = CodePoints(v.s());
    std::vector<Value> out;
    for (size_t k = 0; k < cps.size(); ++k) out.emplace_back(FromCodePoints(cps, k, k + 1));
    return out;
  }
  Fail("'" + v.TypeName() + "' object is not iterable");
}

size_t Length(const Value& v) {
  if (v.is_undefined()) return 0;
  if (v.is_string()) return CodePoints(v.s()).size();
  if (v.is_list()) return v.list().size();
  if (v.is_dict() && !v.is_namespace()) return v.dict().items.size();
  Fail("object of type '" + v.TypeName() + "' has no len()");
}

void AddGlobals(Dict* g) {
  g->Set("range", Value::Fn("range", [](Args& a) {
    int64_t start = 0, stop, step = 1;
    if (a.pos.size() == 1) {
      stop = AsInt(a.pos[0], "range stop");
    } else if (a.pos.size() >= 2) {
      start = AsInt(a.pos[0], "range start");
      stop = AsInt(a.pos[1], "range stop");
      if (a.pos.size() > 2) step = AsInt(a.pos[2], "range step");
    } else {
      Fail("range expects 1 to 3 integer arguments");
    }
    if (step == 0) Fail("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
      out.emplace_back(k);
      if (out.size() > 10000000) Fail("range() is too long");
    }
    return Value::List(std::move(out));
  }));
  g->Set("namespace", Value::Fn("namespace", [](Args& a) {
    Dict d;
    for (const auto& p : a.pos) {
      if (!p.is_dict()) Fail("namespace() takes keyword arguments or a mapping");
      for (const auto& [k, v] : p.dict().items) d.Set(k, v);
    }
    for (const auto& [k, v] : a.kw) d.Set(k, v);
    return Value::MakeDict(std::move(d), true);
  }));
  g->Set("dict", Value::Fn("dict", [](Args& a) {
    Dict d;
    for (const auto& [k, v] : a.kw) d.Set(k, v);
    return Value::MakeDict(std::move(d));
  }));
  g->Set("raise_exception", Value::Fn("raise_exception", [](Args& a) -> Value {
    throw TemplateError("the template raised an exception: " + Str(a.Get(0, "message")));
  }));
  g->Set("strftime_now", Value::Fn("strftime_now", [](Args& a) {
    Value fmt = a.Get(0, "format");
    if (!fmt.is_string()) Fail("strftime_now expects a format string");
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, fmt.s().c_str(), &tm);
    return Value(std::string(buf, n));
  }));
}

}  // namespace egret::chat::jinja
