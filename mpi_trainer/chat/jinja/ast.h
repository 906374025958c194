// The parsed form of a chat template: statements and expressions of the Jinja2 subset the
// interpreter runs. Internal to chat/jinja.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mpi_trainer/chat/jinja/value.h"

namespace egret::chat::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral, kName, kList, kTuple, kDict, kAttr, kItem, kSlice, kCall, kFilter, kTest,
    kNeg, kPos, kNot, kAnd, kOr, kBinary, kCompare, kIn, kConcat, kCond,
  };
  Kind kind;
  int line = 0;
  Value literal;
  std::string name;               // variable, attribute, filter, test or operator
  bool negate = false;            // "is not", "not in"
  ExprPtr a, b, c;                // operands (object/left/condition...)
  std::vector<ExprPtr> items;     // list/tuple items, dict keys+values interleaved, call args
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kGeneration };
  Kind kind;
  int line = 0;
  std::string text;                                // kText
  ExprPtr expr;                                    // kOutput value, kFor iterable, kSet value
  std::vector<std::pair<ExprPtr, Body>> branches;  // kIf: (condition, body)...
  Body body, else_body;                            // kFor, kSetBlock, kMacro, kGeneration; else
  std::vector<std::string> targets;                // kFor/kSet names; kSet "ns.attr" as {ns, attr} with attr_target
  bool attr_target = false;                        // kSet: targets = {namespace, attribute}
  ExprPtr filter;                                  // kFor "if" condition
  std::string name;                                // kMacro name
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro parameters with defaults
};

}  // namespace egret::chat::jinja
