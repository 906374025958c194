#include "jobspecs/spec/diagnostics.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace egret::jobspec {

void Diagnostics::Add(const toml::source_region& at, std::string_view dotted, std::string message) {
  Item item;
  if (at.begin.line > 0) {
    item.line = static_cast<int>(at.begin.line);
    item.column = static_cast<int>(at.begin.column);
    item.text = file_ + ":" + std::to_string(item.line) + ":" + std::to_string(item.column) + ": " +
                std::move(message);
  } else {
    // Values from --set have no position in the file.
    item.text = file_ + " (--set " + std::string(dotted) + "): " + std::move(message);
  }
  items_.push_back(std::move(item));
}

void Diagnostics::AddFile(std::string message) {
  items_.push_back({0, 0, file_ + ": " + std::move(message)});
}

Status Diagnostics::ToStatus() const {
  if (items_.empty()) return Ok();
  std::vector<Item> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Item& a, const Item& b) {
    // Whole-file problems (line 0) after positioned ones.
    int la = a.line ? a.line : 1 << 30, lb = b.line ? b.line : 1 << 30;
    return la != lb ? la < lb : a.column < b.column;
  });
  std::vector<std::string> lines;
  for (const auto& i : sorted) lines.push_back(i.text);
  return Error(Join(lines, "\n"));
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& choices) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : choices) {
    size_t d = EditDistance(word, c, /*ignore_case=*/true);
    // A prefix or suffix relation ("learning_rate" vs "lr" is not one; "gpus" vs
    // "gpus_per_node" is) also counts as a likely meaning.
    bool related = c.size() >= 3 && word.size() >= 3 &&
                   (c.find(word) != std::string::npos || std::string(word).find(c) != std::string::npos);
    size_t limit = std::max<size_t>(2, std::max(word.size(), c.size()) / 3);
    if ((d <= limit || related) && d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best.empty() ? "" : "; did you mean \"" + best + "\"?";
}

std::string ChoiceList(const std::vector<std::string>& choices) { return Join(choices, ", "); }

}  // namespace egret::jobspec
