// Runs a parsed template. Scopes follow Jinja2: a for loop's body has its own scope (so a
// {% set %} inside it does not leak out, which is why templates use namespace()), if
// blocks do not, and a macro call gets a fresh scope over the one it was defined in.
#include <cmath>
#include <unordered_map>

#include "mpi_trainer/chat/jinja/ast.h"
#include "mpi_trainer/chat/jinja/builtins.h"
#include "mpi_trainer/chat/jinja/parser.h"
#include "mpi_trainer/chat/jinja/template.h"

namespace egret::chat::jinja {
namespace {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;
  const Value* Find(const std::string& n) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(n);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { kNormal, kBreak, kContinue };

class Interp {
 public:
  Interp(std::string* out, std::vector<std::pair<size_t, size_t>>* spans) : out_(out), spans_(spans) {}

  Flow Run(const Body& body, const std::shared_ptr<Scope>& scope) {
    for (const auto& n : body) {
      Flow f = Exec(*n, scope);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

 private:
  [[noreturn]] static void Fail(const std::string& msg, int line) { throw TemplateError(msg, line); }

  Flow Exec(const Node& n, const std::shared_ptr<Scope>& scope) {
    try {
      return ExecInner(n, scope);
    } catch (TemplateError& e) {
      if (e.line == 0) e.line = n.line;
      throw;
    }
  }

  Flow ExecInner(const Node& n, const std::shared_ptr<Scope>& scope) {
    switch (n.kind) {
      case Node::Kind::kText:
        *out_ += n.text;
        return Flow::kNormal;
      case Node::Kind::kOutput:
        *out_ += Str(Eval(*n.expr, scope));
        return Flow::kNormal;
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches)
          if (Truthy(Eval(*cond, scope))) return Run(body, scope);
        return Run(n.else_body, scope);
      case Node::Kind::kFor:
        return For(n, scope);
      case Node::Kind::kSet: {
        Value v = Eval(*n.expr, scope);
        if (n.attr_target) {
          const Value* ns = scope->Find(n.targets[0]);
          if (!ns || !ns->is_namespace())
            Fail("{% set " + n.targets[0] + "." + n.targets[1] + " %}: '" + n.targets[0] + "' is not a namespace()", n.line);
          ns->dict().Set(n.targets[1], v);
        } else {
          Assign(n.targets, v, scope.get(), n.line);
        }
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string saved;
        std::swap(saved, *out_);
        Run(n.body, scope);
        std::swap(saved, *out_);
        scope->vars[n.targets[0]] = Value(saved);
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        DefineMacro(n, scope);
        return Flow::kNormal;
      case Node::Kind::kBreak:
      case Node::Kind::kContinue:
        if (loop_depth_ == 0) Fail(std::string("{% ") + (n.kind == Node::Kind::kBreak ? "break" : "continue") + " %} outside a loop", n.line);
        return n.kind == Node::Kind::kBreak ? Flow::kBreak : Flow::kContinue;
      case Node::Kind::kGeneration: {
        if (in_macro_) Fail("{% generation %} inside a macro is not supported", n.line);
        size_t begin = out_->size();
        Flow f = Run(n.body, scope);
        if (spans_) spans_->emplace_back(begin, out_->size());
        return f;
      }
    }
    return Flow::kNormal;
  }

  static void Assign(const std::vector<std::string>& targets, const Value& v, Scope* scope, int line) {
    if (targets.size() == 1) {
      scope->vars[targets[0]] = v;
      return;
    }
    std::vector<Value> items = Iterate(v);
    if (items.size() != targets.size())
      Fail("cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()) + " names", line);
    for (size_t k = 0; k < targets.size(); ++k) scope->vars[targets[k]] = items[k];
  }

  Flow For(const Node& n, const std::shared_ptr<Scope>& outer) {
    Value iterable = Eval(*n.expr, outer);
    if (iterable.is_none()) Fail("'NoneType' object is not iterable", n.line);
    std::vector<Value> all = Iterate(iterable);
    auto scope = std::make_shared<Scope>();
    scope->parent = outer;
    // The "if" of a for loop filters before the loop (so loop.length counts kept items).
    std::vector<Value> items;
    for (const auto& x : all) {
      if (n.filter) {
        Assign(n.targets, x, scope.get(), n.line);
        if (!Truthy(Eval(*n.filter, scope))) continue;
      }
      items.push_back(x);
    }
    if (items.empty()) return Run(n.else_body, outer);
    ++loop_depth_;
    const int64_t len = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < len; ++k) {
      Assign(n.targets, items[k], scope.get(), n.line);
      Dict loop;
      loop.Set("index", Value(k + 1));
      loop.Set("index0", Value(k));
      loop.Set("revindex", Value(len - k));
      loop.Set("revindex0", Value(len - k - 1));
      loop.Set("first", Value(k == 0));
      loop.Set("last", Value(k == len - 1));
      loop.Set("length", Value(len));
      loop.Set("depth", Value(1));
      loop.Set("depth0", Value(0));
      loop.Set("previtem", k > 0 ? items[k - 1] : Value::Undef("loop.previtem"));
      loop.Set("nextitem", k + 1 < len ? items[k + 1] : Value::Undef("loop.nextitem"));
      loop.Set("cycle", Value::Fn("loop.cycle", [k](Args& a) {
        if (a.pos.empty()) throw TemplateError("loop.cycle needs at least one argument");
        return a.pos[static_cast<size_t>(k) % a.pos.size()];
      }));
      scope->vars["loop"] = Value::MakeDict(std::move(loop), true);
      Flow f = Run(n.body, scope);
      if (f == Flow::kBreak) break;
    }
    --loop_depth_;
    return Flow::kNormal;
  }

  void DefineMacro(const Node& n, const std::shared_ptr<Scope>& scope) {
    const Node* node = &n;
    std::weak_ptr<Scope> defined_in = scope;
    Interp* self = this;
    scope->vars[n.name] = Value::Fn(n.name, [node, defined_in, self](Args& a) {
      auto s = std::make_shared<Scope>();
      s->parent = defined_in.lock();
      if (a.pos.size() > node->params.size())
        throw TemplateError("macro '" + node->name + "' takes " + std::to_string(node->params.size()) +
                            " arguments (" + std::to_string(a.pos.size()) + " given)");
      for (size_t k = 0; k < node->params.size(); ++k) {
        const auto& [pname, def] = node->params[k];
        Value v = a.Get(k, pname.c_str(), Value::Undef(pname));
        if (!a.Has(k, pname.c_str()) && def) v = self->Eval(*def, s);
        s->vars[pname] = v;
      }
      for (const auto& [k, v] : a.kw) {
        bool known = false;
        for (const auto& p : node->params) known = known || p.first == k;
        if (!known) throw TemplateError("macro '" + node->name + "' has no parameter '" + k + "'");
      }
      std::string saved;
      std::swap(saved, *self->out_);
      bool was = self->in_macro_;
      self->in_macro_ = true;
      int depth = self->loop_depth_;
      self->loop_depth_ = 0;
      self->Run(node->body, s);
      self->loop_depth_ = depth;
      self->in_macro_ = was;
      std::swap(saved, *self->out_);
      return Value(saved);
    });
  }

  Args EvalArgs(const Expr& e, const std::shared_ptr<Scope>& scope) {
    Args a;
    for (const auto& x : e.items) a.pos.push_back(Eval(*x, scope));
    for (const auto& [k, x] : e.kwargs) a.kw.emplace_back(k, Eval(*x, scope));
    return a;
  }

  static Value Arith(const std::string& op, const Value& a, const Value& b, int line) {
    auto type_error = [&]() -> Value {
      Fail("unsupported operand type(s) for " + op + ": '" + a.TypeName() + "' and '" + b.TypeName() + "'", line);
    };
    if (a.is_undefined() || b.is_undefined())
      Fail("'" + (a.is_undefined() ? a.undefined_name() : b.undefined_name()) + "' is undefined (in '" + op + "')", line);
    bool nums = (a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool());
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value(a.s() + b.s());
      if (a.is_list() && b.is_list()) {
        std::vector<Value> out = a.list();
        out.insert(out.end(), b.list().begin(), b.list().end());
        return Value::List(std::move(out), a.is_tuple());
      }
    }
    if (op == "*") {
      const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
      const Value* times = seq == &a ? &b : &a;
      if (seq && (times->is_int() || times->is_bool())) {
        int64_t n = times->is_int() ? times->i() : times->b();
        if (seq->is_string()) {
          std::string out;
          for (int64_t k = 0; k < n; ++k) out += seq->s();
          return Value(out);
        }
        std::vector<Value> out;
        for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq->list().begin(), seq->list().end());
        return Value::List(std::move(out));
      }
    }
    if (!nums) return type_error();
    bool ints = !a.is_float() && !b.is_float();
    auto iv = [](const Value& v) { return v.is_int() ? v.i() : static_cast<int64_t>(v.b()); };
    if (op == "/") {
      if (b.num() == 0) Fail("division by zero", line);
      return Value(a.num() / b.num());
    }
    if (op == "//" || op == "%") {
      if (b.num() == 0) Fail("integer division or modulo by zero", line);
      if (ints) {
        int64_t x = iv(a), y = iv(b), q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;  // floor division
        return op == "//" ? Value(q) : Value(x - q * y);
      }
      double q = std::floor(a.num() / b.num());
      return op == "//" ? Value(q) : Value(a.num() - q * b.num());
    }
    if (op == "**") {
      if (ints && iv(b) >= 0) {
        int64_t r = 1;
        for (int64_t k = 0; k < iv(b); ++k) r *= iv(a);
        return Value(r);
      }
      return Value(std::pow(a.num(), b.num()));
    }
    if (ints) {
      if (op == "+") return Value(iv(a) + iv(b));
      if (op == "-") return Value(iv(a) - iv(b));
      if (op == "*") return Value(iv(a) * iv(b));
    } else {
      if (op == "+") return Value(a.num() + b.num());
      if (op == "-") return Value(a.num() - b.num());
      if (op == "*") return Value(a.num() * b.num());
    }
    return type_error();
  }

 public:
  Value Eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
    try {
      return EvalInner(e, scope);
    } catch (TemplateError& err) {
      if (err.line == 0) err.line = e.line;
      throw;
    }
  }

 private:
  Value EvalInner(const Expr& e, const std::shared_ptr<Scope>& scope) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName: {
        const Value* v = scope->Find(e.name);
        return v ? *v : Value::Undef(e.name);
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        std::vector<Value> items;
        for (const auto& x : e.items) items.push_back(Eval(*x, scope));
        return Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t k = 0; k + 1 < e.items.size(); k += 2) {
          Value key = Eval(*e.items[k], scope);
          if (!key.is_string()) Fail("dict keys must be strings in chat templates (got " + key.TypeName() + ")", e.line);
          d.Set(key.s(), Eval(*e.items[k + 1], scope));
        }
        return Value::MakeDict(std::move(d));
      }
      case Expr::Kind::kAttr:
        return GetAttr(Eval(*e.a, scope), e.name);
      case Expr::Kind::kItem:
        return GetItem(Eval(*e.a, scope), Eval(*e.b, scope));
      case Expr::Kind::kSlice: {
        auto part = [&](size_t k) { return e.items[k] ? Eval(*e.items[k], scope) : Value::None(); };
        return Slice(Eval(*e.a, scope), part(0), part(1), part(2));
      }
      case Expr::Kind::kCall: {
        Value fn = Eval(*e.a, scope);
        Args args = EvalArgs(e, scope);
        if (!fn.is_callable()) {
          std::string what = e.a->kind == Expr::Kind::kName || e.a->kind == Expr::Kind::kAttr ? e.a->name : "value";
          if (fn.is_undefined()) Fail("'" + what + "' is undefined (called as a function)", e.line);
          Fail("'" + what + "' (" + fn.TypeName() + ") is not callable", e.line);
        }
        return fn.fn().call(args);
      }
      case Expr::Kind::kFilter: {
        Value v = Eval(*e.a, scope);
        Args args = EvalArgs(e, scope);
        return ApplyFilter(e.name, v, args);
      }
      case Expr::Kind::kTest: {
        Value v = Eval(*e.a, scope);
        Args args = EvalArgs(e, scope);
        return Value(ApplyTest(e.name, v, args) != e.negate);
      }
      case Expr::Kind::kNeg:
      case Expr::Kind::kPos: {
        Value v = Eval(*e.a, scope);
        if (v.is_int()) return Value(e.kind == Expr::Kind::kNeg ? -v.i() : v.i());
        if (v.is_float()) return Value(e.kind == Expr::Kind::kNeg ? -v.f() : v.f());
        if (v.is_bool()) return Value(static_cast<int64_t>(e.kind == Expr::Kind::kNeg ? -v.b() : v.b()));
        Fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::kNeg ? "-" : "+") + ": '" + v.TypeName() + "'", e.line);
      }
      case Expr::Kind::kNot:
        return Value(!Truthy(Eval(*e.a, scope)));
      case Expr::Kind::kAnd: {
        Value a = Eval(*e.a, scope);
        return Truthy(a) ? Eval(*e.b, scope) : a;
      }
      case Expr::Kind::kOr: {
        Value a = Eval(*e.a, scope);
        return Truthy(a) ? a : Eval(*e.b, scope);
      }
      case Expr::Kind::kBinary:
        return Arith(e.name, Eval(*e.a, scope), Eval(*e.b, scope), e.line);
      case Expr::Kind::kConcat: {
        std::string s;
        for (const auto& x : e.items) s += Str(Eval(*x, scope));
        return Value(s);
      }
      case Expr::Kind::kCompare: {
        Value a = Eval(*e.a, scope), b = Eval(*e.b, scope);
        Args args;
        args.pos.push_back(b);
        return Value(ApplyTest(e.name, a, args));
      }
      case Expr::Kind::kIn: {
        Value a = Eval(*e.a, scope), b = Eval(*e.b, scope);
        if (b.is_undefined()) Fail("'" + b.undefined_name() + "' is undefined (right of 'in')", e.line);
        if (b.is_string() && !a.is_string())
          Fail("'in <string>' requires string as left operand, not " + a.TypeName(), e.line);
        Args args;
        args.pos.push_back(b);
        return Value(ApplyTest("in", a, args) != e.negate);
      }
      case Expr::Kind::kCond: {
        if (Truthy(Eval(*e.b, scope))) return Eval(*e.a, scope);
        return e.c ? Eval(*e.c, scope) : Value::Undef("the else branch of an inline if");
      }
    }
    return Value();
  }

  std::string* out_;
  std::vector<std::pair<size_t, size_t>>* spans_;
  int loop_depth_ = 0;
  bool in_macro_ = false;
};

// Unknown filters and tests are errors when the template is read, not when a branch that
// uses them happens to run.
void Check(const Expr* e) {
  if (!e) return;
  if (e->kind == Expr::Kind::kFilter && !HasFilter(e->name))
    throw TemplateError("unknown filter '" + e->name + "'", e->line);
  if (e->kind == Expr::Kind::kTest && !HasTest(e->name)) throw TemplateError("unknown test '" + e->name + "'", e->line);
  Check(e->a.get());
  Check(e->b.get());
  Check(e->c.get());
  for (const auto& x : e->items) Check(x.get());
  for (const auto& [k, x] : e->kwargs) Check(x.get());
}

void Check(const Body& body) {
  for (const auto& n : body) {
    Check(n->expr.get());
    Check(n->filter.get());
    for (const auto& [c, b] : n->branches) {
      Check(c.get());
      Check(b);
    }
    Check(n->body);
    Check(n->else_body);
    for (const auto& [p, d] : n->params) Check(d.get());
  }
}

std::string Located(const std::string& name, const TemplateError& e) {
  return name + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " + e.what();
}

}  // namespace

Result<Template> Template::Parse(const std::string& source, const std::string& name) {
  Template t;
  t.name_ = name;
  try {
    auto body = ParseTemplate(source, &t.has_generation_);
    Check(*body);
    t.root_ = body;
  } catch (const TemplateError& e) {
    return Error(Located(name, e));
  }
  return t;
}

Result<Template::Output> Template::Render(const Dict& variables) const {
  Output out;
  auto root = std::make_shared<Scope>();
  Dict globals;
  AddGlobals(&globals);
  for (auto& [k, v] : globals.items) root->vars[k] = v;
  for (const auto& [k, v] : variables.items) root->vars[k] = v;
  try {
    Interp in(&out.text, &out.generation_spans);
    in.Run(*static_cast<const Body*>(root_.get()), root);
  } catch (const TemplateError& e) {
    return Error(Located(name_, e));
  }
  return out;
}

}  // namespace egret::chat::jinja
