#include "mpi_trainer/chat/jinja/parser.h"

#include <cctype>
#include <cstring>

namespace egret::chat::jinja {
namespace {

struct Tok {
  enum Kind { kName, kInt, kFloat, kString, kOp, kEnd } kind;
  std::string text;
  Value value;
  int line;
};

// A template source cut into text and tags.
struct Piece {
  enum Kind { kText, kExpr, kStmt, kComment } kind;
  std::string text;  // kText
  std::vector<Tok> toks;
  char left = 0, right = 0;  // whitespace-control sign: '-', '+' or 0
  int line = 0;
};

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Tokenizes a tag's contents starting at S[I]; stops at CLOSE ("}}" or "%}") outside
// brackets, leaving I just past it. Reports the sign before CLOSE in *RIGHT.
std::vector<Tok> LexTag(const std::string& s, size_t& i, int& line, const char* close, char* right) {
  std::vector<Tok> toks;
  int depth = 0;
  while (true) {
    while (i < s.size() && IsWs(s[i])) {
      if (s[i] == '\n') ++line;
      ++i;
    }
    if (i >= s.size()) throw TemplateError(std::string("tag is not closed (missing \"") + close + "\")", line);
    // Closing delimiter, possibly with a sign.
    if (depth == 0) {
      for (char sign : {'-', '+'}) {
        if (s[i] == sign && s.compare(i + 1, 2, close) == 0) {
          *right = sign;
          i += 3;
          return toks;
        }
      }
      if (s.compare(i, 2, close) == 0) {
        *right = 0;
        i += 2;
        return toks;
      }
    }
    char c = s[i];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      toks.push_back({Tok::kName, s.substr(b, i - b), Value(), line});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t b = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      bool is_float = false;
      if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        is_float = true;
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t k = i + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          is_float = true;
          i = k;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      std::string num;
      for (size_t k = b; k < i; ++k)
        if (s[k] != '_') num += s[k];
      if (is_float) toks.push_back({Tok::kFloat, num, Value(std::stod(num)), line});
      else toks.push_back({Tok::kInt, num, Value(static_cast<int64_t>(std::stoll(num))), line});
    } else if (c == '\'' || c == '"') {
      std::string str;
      ++i;
      while (true) {
        if (i >= s.size()) throw TemplateError("string literal is not closed", line);
        char d = s[i];
        if (d == c) {
          ++i;
          break;
        }
        if (d == '\n') ++line;
        if (d == '\\' && i + 1 < s.size()) {
          char e = s[i + 1];
          i += 2;
          switch (e) {
            case 'n': str += '\n'; break;
            case 't': str += '\t'; break;
            case 'r': str += '\r'; break;
            case '\\': str += '\\'; break;
            case '\'': str += '\''; break;
            case '"': str += '"'; break;
            case '\n': break;
            case 'x': case 'u': case 'U': {
              size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
              if (i + n > s.size()) throw TemplateError("bad \\" + std::string(1, e) + " escape in a string", line);
              uint32_t cp = static_cast<uint32_t>(std::stoul(s.substr(i, n), nullptr, 16));
              i += n;
              std::vector<uint32_t> one{cp};
              str += FromCodePoints(one, 0, 1);
              break;
            }
            default: str += '\\'; str += e;  // Python keeps unknown escapes
          }
          continue;
        }
        str += d;
        ++i;
      }
      toks.push_back({Tok::kString, str, Value(str), line});
    } else {
      static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "~", "<", ">",
                                   "=", "|", ".", ":", ",", "(", ")", "[", "]", "{", "}"};
      const char* op = nullptr;
      for (const char* o : kOps)
        if (s.compare(i, std::strlen(o), o) == 0) {
          op = o;
          break;
        }
      if (!op) throw TemplateError(std::string("unexpected character '") + c + "' in a tag", line);
      std::string o(op);
      if (o == "(" || o == "[" || o == "{") ++depth;
      if (o == ")" || o == "]" || o == "}") --depth;
      toks.push_back({Tok::kOp, o, Value(), line});
      i += o.size();
    }
  }
}

std::vector<Piece> Lex(std::string src) {
  // keep_trailing_newline=False: one final newline of the source is dropped.
  if (!src.empty() && src.back() == '\n') {
    src.pop_back();
    if (!src.empty() && src.back() == '\r') src.pop_back();
  }
  std::vector<Piece> out;
  size_t i = 0;
  int line = 1;
  while (i < src.size()) {
    size_t open = std::string::npos;
    for (size_t k = i; k + 1 < src.size(); ++k) {
      if (src[k] == '{' && (src[k + 1] == '{' || src[k + 1] == '%' || src[k + 1] == '#')) {
        open = k;
        break;
      }
    }
    std::string text = src.substr(i, open == std::string::npos ? std::string::npos : open - i);
    if (!text.empty()) out.push_back({Piece::kText, text, {}, 0, 0, line});
    for (char c : text)
      if (c == '\n') ++line;
    if (open == std::string::npos) break;
    i = open + 2;
    Piece p;
    p.line = line;
    char kind = src[open + 1];
    if (i < src.size() && (src[i] == '-' || src[i] == '+')) p.left = src[i++];
    if (kind == '#') {
      size_t end = src.find("#}", i);
      if (end == std::string::npos) throw TemplateError("comment is not closed (missing \"#}\")", line);
      if (end > i && (src[end - 1] == '-' || src[end - 1] == '+')) p.right = src[end - 1];
      for (size_t k = i; k < end; ++k)
        if (src[k] == '\n') ++line;
      p.kind = Piece::kComment;
      i = end + 2;
    } else {
      p.kind = kind == '{' ? Piece::kExpr : Piece::kStmt;
      p.toks = LexTag(src, i, line, kind == '{' ? "}}" : "%}", &p.right);
      // {% raw %}: everything up to {% endraw %} is text.
      if (p.kind == Piece::kStmt && p.toks.size() == 1 && p.toks[0].text == "raw") {
        size_t end = i;
        while (true) {
          end = src.find("{%", end);
          if (end == std::string::npos) throw TemplateError("{% raw %} is not closed by {% endraw %}", p.line);
          size_t k = end + 2;
          if (k < src.size() && (src[k] == '-' || src[k] == '+')) ++k;
          while (k < src.size() && IsWs(src[k])) ++k;
          if (src.compare(k, 6, "endraw") == 0) break;
          end += 2;
        }
        std::string raw = src.substr(i, end - i);
        if (p.right == '-') {
          size_t b = 0;
          while (b < raw.size() && IsWs(raw[b])) ++b;
          raw = raw.substr(b);
        }
        Piece t{Piece::kText, raw, {}, 0, 0, line};
        for (char c : raw)
          if (c == '\n') ++line;
        int l2 = line;
        size_t j = end + 2;
        char left2 = 0;
        if (j < src.size() && (src[j] == '-' || src[j] == '+')) left2 = src[j++];
        char right2 = 0;
        LexTag(src, j, l2, "%}", &right2);
        if (left2 == '-') {
          size_t e = t.text.size();
          while (e > 0 && IsWs(t.text[e - 1])) --e;
          t.text.resize(e);
        }
        out.push_back(t);
        // Continue as if a block tag ended here (for trim_blocks after endraw).
        Piece endraw;
        endraw.kind = Piece::kComment;
        endraw.right = right2;
        endraw.line = l2;
        out.push_back(endraw);
        i = j;
        line = l2;
        continue;
      }
    }
    out.push_back(std::move(p));
  }
  // Whitespace control between tags (Jinja2 with trim_blocks and lstrip_blocks).
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k].kind != Piece::kText) continue;
    std::string& t = out[k].text;
    const Piece* prev = k > 0 ? &out[k - 1] : nullptr;
    const Piece* next = k + 1 < out.size() ? &out[k + 1] : nullptr;
    bool line_start = prev == nullptr;
    if (prev && prev->right == '-') {
      size_t b = 0;
      while (b < t.size() && IsWs(t[b])) ++b;
      t.erase(0, b);
    } else if (prev && prev->kind != Piece::kExpr && prev->right != '+') {
      if (t.compare(0, 1, "\n") == 0) t.erase(0, 1), line_start = true;
      else if (t.compare(0, 2, "\r\n") == 0) t.erase(0, 2), line_start = true;
    }
    if (next && next->left == '-') {
      size_t e = t.size();
      while (e > 0 && IsWs(t[e - 1])) --e;
      t.resize(e);
    } else if (next && next->kind != Piece::kExpr && next->left != '+') {
      size_t nl = t.rfind('\n');
      size_t from = nl == std::string::npos ? 0 : nl + 1;
      if (nl != std::string::npos || line_start) {
        bool blank = true;
        for (size_t q = from; q < t.size(); ++q)
          if (t[q] != ' ' && t[q] != '\t') blank = false;
        if (blank) t.resize(from);
      }
    }
  }
  // A tag with a '-' also strips the text on the far side of an adjacent tag only through
  // that text, so nothing more to do; drop comments.
  std::vector<Piece> kept;
  for (auto& p : out)
    if (p.kind != Piece::kComment) kept.push_back(std::move(p));
  return kept;
}

// ---------------------------------------------------------------------------------------
// Expressions

class ExprParser {
 public:
  explicit ExprParser(const std::vector<Tok>& toks) : t_(toks) {}

  ExprPtr Expression() { return Conditional(); }
  bool AtEnd() const { return pos_ >= t_.size(); }
  const Tok& Peek(size_t ahead = 0) const {
    static const Tok end{Tok::kEnd, "", Value(), 0};
    return pos_ + ahead < t_.size() ? t_[pos_ + ahead] : end;
  }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kOp && Peek(ahead).text == op;
  }
  bool IsName(const char* name, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kName && Peek(ahead).text == name;
  }
  int Line() const { return pos_ < t_.size() ? t_[pos_].line : (t_.empty() ? 0 : t_.back().line); }
  Tok Next() {
    if (AtEnd()) throw TemplateError("unexpected end of tag", Line());
    return t_[pos_++];
  }
  void ExpectOp(const char* op) {
    if (!IsOp(op)) throw TemplateError(std::string("expected '") + op + "' but found " + Describe(), Line());
    ++pos_;
  }
  std::string ExpectName() {
    if (Peek().kind != Tok::kName) throw TemplateError("expected a name but found " + Describe(), Line());
    return t_[pos_++].text;
  }
  std::string Describe() const {
    if (AtEnd()) return "the end of the tag";
    return "'" + Peek().text + "'";
  }
  void ExpectEnd(const std::string& what) {
    if (!AtEnd()) throw TemplateError("unexpected " + Describe() + " after " + what, Line());
  }

  // Tuple without parentheses (for loop targets' iterables, "set a, b = ..."). A for loop's
  // iterable takes no inline "if" (that "if" filters the loop).
  ExprPtr TupleOrExpression(bool with_condexpr = true) {
    auto item = [&] { return with_condexpr ? Expression() : Or(); };
    ExprPtr first = item();
    if (!IsOp(",")) return first;
    auto t = Make(Expr::Kind::kTuple);
    t->items.push_back(std::move(first));
    while (IsOp(",")) {
      ++pos_;
      if (AtEnd() || IsName("if")) break;
      t->items.push_back(item());
    }
    return t;
  }

 private:
  ExprPtr Make(Expr::Kind k) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = Line();
    return e;
  }

  ExprPtr Conditional() {
    ExprPtr body = Or();
    while (IsName("if")) {
      ++pos_;
      auto e = Make(Expr::Kind::kCond);
      e->b = Or();  // condition
      e->a = std::move(body);
      if (IsName("else")) {
        ++pos_;
        e->c = Or();
      }
      body = std::move(e);
    }
    return body;
  }
  ExprPtr Or() {
    ExprPtr left = And();
    while (IsName("or")) {
      ++pos_;
      auto e = Make(Expr::Kind::kOr);
      e->a = std::move(left);
      e->b = And();
      left = std::move(e);
    }
    return left;
  }
  ExprPtr And() {
    ExprPtr left = Not();
    while (IsName("and")) {
      ++pos_;
      auto e = Make(Expr::Kind::kAnd);
      e->a = std::move(left);
      e->b = Not();
      left = std::move(e);
    }
    return left;
  }
  ExprPtr Not() {
    if (IsName("not")) {
      ++pos_;
      auto e = Make(Expr::Kind::kNot);
      e->a = Not();
      return e;
    }
    return Compare();
  }
  ExprPtr Compare() {
    ExprPtr left = Math1();
    while (true) {
      const Tok& p = Peek();
      if (p.kind == Tok::kOp && (p.text == "==" || p.text == "!=" || p.text == "<" || p.text == "<=" ||
                                 p.text == ">" || p.text == ">=")) {
        ++pos_;
        auto e = Make(Expr::Kind::kCompare);
        e->name = p.text;
        e->a = std::move(left);
        e->b = Math1();
        left = std::move(e);
      } else if (IsName("in") || (IsName("not") && IsName("in", 1))) {
        auto e = Make(Expr::Kind::kIn);
        if (IsName("not")) {
          e->negate = true;
          ++pos_;
        }
        ++pos_;
        e->a = std::move(left);
        e->b = Math1();
        left = std::move(e);
      } else {
        return left;
      }
    }
  }
  ExprPtr Binary(ExprPtr left, const std::string& op, ExprPtr right) {
    auto e = Make(Expr::Kind::kBinary);
    e->name = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return e;
  }
  ExprPtr Math1() {
    ExprPtr left = Concat();
    while (IsOp("+") || IsOp("-")) {
      std::string op = Next().text;
      left = Binary(std::move(left), op, Concat());
    }
    return left;
  }
  ExprPtr Concat() {
    ExprPtr left = Math2();
    if (!IsOp("~")) return left;
    auto e = Make(Expr::Kind::kConcat);
    e->items.push_back(std::move(left));
    while (IsOp("~")) {
      ++pos_;
      e->items.push_back(Math2());
    }
    return e;
  }
  ExprPtr Math2() {
    ExprPtr left = Pow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Next().text;
      left = Binary(std::move(left), op, Pow());
    }
    return left;
  }
  ExprPtr Pow() {
    ExprPtr left = Unary(true);
    while (IsOp("**")) {
      ++pos_;
      left = Binary(std::move(left), "**", Unary(true));
    }
    return left;
  }
  ExprPtr Unary(bool with_filter) {
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      bool neg = Next().text == "-";
      node = Make(neg ? Expr::Kind::kNeg : Expr::Kind::kPos);
      node->a = Unary(false);
    } else {
      node = Primary();
    }
    node = Postfix(std::move(node));
    if (with_filter) node = FilterExpr(std::move(node));
    return node;
  }
  ExprPtr Primary() {
    const Tok& p = Peek();
    int line = Line();
    if (p.kind == Tok::kName) {
      ++pos_;
      const std::string& n = p.text;
      if (n == "true" || n == "True") return Literal(Value(true), line);
      if (n == "false" || n == "False") return Literal(Value(false), line);
      if (n == "none" || n == "None") return Literal(Value::None(), line);
      auto e = Make(Expr::Kind::kName);
      e->name = n;
      e->line = line;
      return e;
    }
    if (p.kind == Tok::kString) {
      std::string s;
      while (Peek().kind == Tok::kString) s += Next().text;  // adjacent literals concatenate
      return Literal(Value(s), line);
    }
    if (p.kind == Tok::kInt || p.kind == Tok::kFloat) {
      ++pos_;
      return Literal(p.value, line);
    }
    if (IsOp("(")) {
      ++pos_;
      if (IsOp(")")) {
        ++pos_;
        return Make(Expr::Kind::kTuple);
      }
      ExprPtr first = Expression();
      if (IsOp(")")) {
        ++pos_;
        return first;
      }
      auto t = Make(Expr::Kind::kTuple);
      t->items.push_back(std::move(first));
      while (IsOp(",")) {
        ++pos_;
        if (IsOp(")")) break;
        t->items.push_back(Expression());
      }
      ExpectOp(")");
      return t;
    }
    if (IsOp("[")) {
      ++pos_;
      auto l = Make(Expr::Kind::kList);
      while (!IsOp("]")) {
        l->items.push_back(Expression());
        if (!IsOp(",")) break;
        ++pos_;
      }
      ExpectOp("]");
      return l;
    }
    if (IsOp("{")) {
      ++pos_;
      auto d = Make(Expr::Kind::kDict);
      while (!IsOp("}")) {
        d->items.push_back(Expression());
        ExpectOp(":");
        d->items.push_back(Expression());
        if (!IsOp(",")) break;
        ++pos_;
      }
      ExpectOp("}");
      return d;
    }
    throw TemplateError("unexpected " + Describe() + " in an expression", line);
  }
  ExprPtr Literal(Value v, int line) {
    auto e = Make(Expr::Kind::kLiteral);
    e->literal = std::move(v);
    e->line = line;
    return e;
  }
  void CallArgs(Expr* call) {
    ExpectOp("(");
    while (!IsOp(")")) {
      if (Peek().kind == Tok::kName && IsOp("=", 1)) {
        std::string k = Next().text;
        ++pos_;
        call->kwargs.emplace_back(k, Expression());
      } else if (IsOp("*") || IsOp("**")) {
        throw TemplateError("*args/**kwargs in a call are not supported", Line());
      } else {
        call->items.push_back(Expression());
      }
      if (!IsOp(",")) break;
      ++pos_;
    }
    ExpectOp(")");
  }
  ExprPtr Postfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        ++pos_;
        auto e = Make(Expr::Kind::kAttr);
        if (Peek().kind == Tok::kInt) e->name = Next().text;
        else e->name = ExpectName();
        e->a = std::move(node);
        node = std::move(e);
      } else if (IsOp("[")) {
        ++pos_;
        ExprPtr lo, hi, step;
        bool slice = false;
        if (!IsOp(":")) lo = Expression();
        if (IsOp(":")) {
          slice = true;
          ++pos_;
          if (!IsOp("]") && !IsOp(":")) hi = Expression();
          if (IsOp(":")) {
            ++pos_;
            if (!IsOp("]")) step = Expression();
          }
        }
        ExpectOp("]");
        auto e = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kItem);
        e->a = std::move(node);
        if (slice) {
          e->items.push_back(std::move(lo));
          e->items.push_back(std::move(hi));
          e->items.push_back(std::move(step));
        } else {
          e->b = std::move(lo);
        }
        node = std::move(e);
      } else if (IsOp("(")) {
        auto e = Make(Expr::Kind::kCall);
        e->a = std::move(node);
        CallArgs(e.get());
        node = std::move(e);
      } else {
        return node;
      }
    }
  }
  ExprPtr FilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        ++pos_;
        auto e = Make(Expr::Kind::kFilter);
        e->name = ExpectName();
        while (IsOp(".")) {  // dotted filter names
          ++pos_;
          e->name += "." + ExpectName();
        }
        e->a = std::move(node);
        if (IsOp("(")) CallArgs(e.get());
        node = std::move(e);
      } else if (IsName("is")) {
        ++pos_;
        auto e = Make(Expr::Kind::kTest);
        if (IsName("not")) {
          ++pos_;
          e->negate = true;
        }
        e->name = ExpectName();
        e->a = std::move(node);
        if (IsOp("(")) {
          CallArgs(e.get());
        } else {
          const Tok& p = Peek();
          bool starts_arg = (p.kind == Tok::kName && p.text != "else" && p.text != "or" && p.text != "and" &&
                             p.text != "if" && p.text != "in" && p.text != "not" && p.text != "is") ||
                            p.kind == Tok::kString || p.kind == Tok::kInt || p.kind == Tok::kFloat ||
                            IsOp("[") || IsOp("{");
          if (starts_arg) e->items.push_back(Postfix(Primary()));
        }
        node = std::move(e);
      } else if (IsOp("(")) {
        auto e = Make(Expr::Kind::kCall);
        e->a = std::move(node);
        CallArgs(e.get());
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  const std::vector<Tok>& t_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------
// Statements

class StmtParser {
 public:
  explicit StmtParser(std::vector<Piece> pieces) : p_(std::move(pieces)) {}

  std::shared_ptr<Body> Parse(bool* has_generation) {
    auto root = std::make_shared<Body>();
    std::string stop = ParseBody(root.get(), {});
    if (!stop.empty()) throw TemplateError("unexpected {% " + stop + " %}", Line());
    *has_generation = has_generation_;
    return root;
  }

 private:
  int Line() const { return i_ < p_.size() ? p_[i_].line : (p_.empty() ? 1 : p_.back().line); }

  // Parses nodes until a statement whose keyword is in STOPS (returned, not consumed) or
  // the end (returns "").
  std::string ParseBody(Body* body, const std::vector<std::string>& stops) {
    while (i_ < p_.size()) {
      Piece& p = p_[i_];
      if (p.kind == Piece::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->text = p.text;
        n->line = p.line;
        body->push_back(std::move(n));
        ++i_;
        continue;
      }
      if (p.kind == Piece::kExpr) {
        ExprParser ep(p.toks);
        if (ep.AtEnd()) throw TemplateError("empty {{ }}", p.line);
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = p.line;
        n->expr = ep.Expression();
        ep.ExpectEnd("the expression");
        body->push_back(std::move(n));
        ++i_;
        continue;
      }
      if (p.toks.empty() || p.toks[0].kind != Tok::kName) throw TemplateError("empty or malformed {% %} tag", p.line);
      const std::string kw = p.toks[0].text;
      for (const auto& s : stops)
        if (kw == s) return kw;
      body->push_back(Statement());
    }
    return "";
  }

  // The statement at i_ (its keyword is the first token).
  NodePtr Statement() {
    Piece& p = p_[i_];
    ExprParser ep(p.toks);
    std::string kw = ep.Next().text;
    int line = p.line;
    auto n = std::make_unique<Node>();
    n->line = line;
    ++i_;
    if (kw == "if") {
      n->kind = Node::Kind::kIf;
      ExprPtr cond = ep.Expression();
      ep.ExpectEnd("the if condition");
      while (true) {
        Body b;
        std::string stop = ParseBody(&b, {"elif", "else", "endif"});
        n->branches.emplace_back(std::move(cond), std::move(b));
        if (stop.empty()) throw TemplateError("{% if %} opened on line " + std::to_string(line) + " is not closed by {% endif %}", line);
        ExprParser sp(p_[i_].toks);
        sp.Next();
        ++i_;
        if (stop == "elif") {
          cond = sp.Expression();
          sp.ExpectEnd("the elif condition");
          continue;
        }
        if (stop == "else") {
          sp.ExpectEnd("else");
          std::string end = ParseBody(&n->else_body, {"endif", "elif", "else"});
          if (end != "endif") throw TemplateError("{% if %} opened on line " + std::to_string(line) + " is not closed by {% endif %}", line);
          ++i_;
        }
        break;
      }
      return n;
    }
    if (kw == "for") {
      n->kind = Node::Kind::kFor;
      n->targets.push_back(ep.ExpectName());
      while (ep.IsOp(",")) {
        ep.Next();
        n->targets.push_back(ep.ExpectName());
      }
      if (!ep.IsName("in")) throw TemplateError("expected 'in' in {% for %}", line);
      ep.Next();
      // The iterable ends at "if" (filter) or "recursive".
      n->expr = ep.TupleOrExpression(false);
      if (ep.IsName("if")) {
        ep.Next();
        n->filter = ep.Expression();
      }
      if (ep.IsName("recursive")) throw TemplateError("recursive loops are not supported", line);
      ep.ExpectEnd("the for loop header");
      std::string stop = ParseBody(&n->body, {"else", "endfor"});
      if (stop == "else") {
        ++i_;
        stop = ParseBody(&n->else_body, {"endfor"});
      }
      if (stop != "endfor") throw TemplateError("{% for %} opened on line " + std::to_string(line) + " is not closed by {% endfor %}", line);
      ++i_;
      return n;
    }
    if (kw == "set") {
      std::string first = ep.ExpectName();
      if (ep.IsOp(".")) {
        ep.Next();
        n->attr_target = true;
        n->targets = {first, ep.ExpectName()};
      } else {
        n->targets.push_back(first);
        while (ep.IsOp(",")) {
          ep.Next();
          n->targets.push_back(ep.ExpectName());
        }
      }
      if (ep.AtEnd() || ep.IsOp("|")) {
        if (ep.IsOp("|")) throw TemplateError("filtered {% set %} blocks are not supported", line);
        if (n->attr_target || n->targets.size() != 1) throw TemplateError("a {% set %} block assigns one name", line);
        n->kind = Node::Kind::kSetBlock;
        std::string stop = ParseBody(&n->body, {"endset"});
        if (stop != "endset") throw TemplateError("{% set %} block opened on line " + std::to_string(line) + " is not closed by {% endset %}", line);
        ++i_;
        return n;
      }
      n->kind = Node::Kind::kSet;
      ep.ExpectOp("=");
      n->expr = ep.TupleOrExpression();
      ep.ExpectEnd("the set value");
      return n;
    }
    if (kw == "macro") {
      n->kind = Node::Kind::kMacro;
      n->name = ep.ExpectName();
      ep.ExpectOp("(");
      while (!ep.IsOp(")")) {
        std::string param = ep.ExpectName();
        ExprPtr def;
        if (ep.IsOp("=")) {
          ep.Next();
          def = ep.Expression();
        }
        n->params.emplace_back(param, std::move(def));
        if (!ep.IsOp(",")) break;
        ep.Next();
      }
      ep.ExpectOp(")");
      ep.ExpectEnd("the macro signature");
      std::string stop = ParseBody(&n->body, {"endmacro"});
      if (stop != "endmacro") throw TemplateError("{% macro %} opened on line " + std::to_string(line) + " is not closed by {% endmacro %}", line);
      ++i_;
      return n;
    }
    if (kw == "generation") {
      n->kind = Node::Kind::kGeneration;
      has_generation_ = true;
      ep.ExpectEnd("generation");
      std::string stop = ParseBody(&n->body, {"endgeneration"});
      if (stop != "endgeneration") throw TemplateError("{% generation %} opened on line " + std::to_string(line) + " is not closed by {% endgeneration %}", line);
      ++i_;
      return n;
    }
    if (kw == "break" || kw == "continue") {
      n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      ep.ExpectEnd(kw);
      return n;
    }
    static const char* kKnownEnds[] = {"endif", "endfor", "endmacro", "endset", "endgeneration", "elif", "else"};
    for (const char* e : kKnownEnds)
      if (kw == e) throw TemplateError("{% " + kw + " %} without a matching opening statement", line);
    throw TemplateError("unsupported statement {% " + kw + " %} (supported: if, for, set, macro, "
                        "generation, break, continue, raw)", line);
  }

  std::vector<Piece> p_;
  size_t i_ = 0;
  bool has_generation_ = false;
};

}  // namespace

std::shared_ptr<Body> ParseTemplate(const std::string& source, bool* has_generation) {
  return StmtParser(Lex(source)).Parse(has_generation);
}

}  // namespace egret::chat::jinja
