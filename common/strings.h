#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace egret {

std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = false);
std::string_view Trim(std::string_view s);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// Quotes a string for a POSIX shell ('...' with embedded quotes escaped).
std::string ShellQuote(std::string_view s);
// Levenshtein distance (insert, delete, substitute), for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b, bool ignore_case = false);

}  // namespace egret
