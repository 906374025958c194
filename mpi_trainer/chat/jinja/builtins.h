// Filters, tests, methods of str/list/dict, and the globals chat templates use (range,
// namespace, raise_exception, strftime_now, dict), with Jinja2/Python semantics.
#pragma once

#include <string>

#include "mpi_trainer/chat/jinja/value.h"

namespace egret::chat::jinja {

bool HasFilter(const std::string& name);
bool HasTest(const std::string& name);
Value ApplyFilter(const std::string& name, const Value& v, Args& args);
bool ApplyTest(const std::string& name, const Value& v, Args& args);
// obj.NAME: a dict key, a method bound to OBJ, or undefined.
Value GetAttr(const Value& obj, const std::string& name);
// obj[KEY].
Value GetItem(const Value& obj, const Value& key);
Value Slice(const Value& obj, const Value& lo, const Value& hi, const Value& step);
void AddGlobals(Dict* globals);
// The items a for loop (or a filter) iterates over.
std::vector<Value> Iterate(const Value& v);
size_t Length(const Value& v);

}  // namespace egret::chat::jinja
