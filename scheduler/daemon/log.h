// The daemon's log: one timestamped line per event on stderr (the journal under systemd, the
// log file when daemonized).
#pragma once

#include <string>

namespace egret::quotad {

void LogLine(const std::string& line);

}  // namespace egret::quotad
