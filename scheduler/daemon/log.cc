#include "scheduler/daemon/log.h"

#include <cstdio>
#include <ctime>

namespace egret::quotad {

void LogLine(const std::string& line) {
  char ts[32];
  time_t t = time(nullptr);
  tm g{};
  localtime_r(&t, &g);
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &g);
  // One fprintf per line: stdio locks the stream, so lines from threads never interleave.
  std::fprintf(stderr, "%s egret-quotad: %s\n", ts, line.c_str());
  std::fflush(stderr);
}

}  // namespace egret::quotad
