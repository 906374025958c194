// A schedule's history: its result lines as a table, and a trend plot drawn by gnuplot.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::jobspec::bench {

// Every parseable line of a results.jsonl, oldest first; bad lines are counted, not fatal
// (a line cut short by a crash must not hide the rest of the history).
struct History {
  std::vector<nlohmann::json> runs;
  int bad_lines = 0;
};
Result<History> ReadHistory(const std::string& results_path);

std::string HistoryTable(const History& h);

// A PNG of value over fired_at (failed runs marked), via gnuplot.
Status PlotTrend(const History& h, const std::string& title, const std::string& png_path);

}  // namespace egret::jobspec::bench
