// When a scheduled benchmark fires: a 5-field cron expression with Vixie cron's semantics,
// an @macro, or a fixed interval. Pure: the only clock is the caller's AFTER argument, and
// cron fields are read in the process's local time zone (TZ), as cron does.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace egret::cron {

struct Schedule {
  std::string text;  // as written, for messages and listings

  // A fixed interval (`every = "30s"`): fires at every multiple of every_s since the Unix
  // epoch, so the times do not drift however late a run starts.
  int64_t every_s = 0;

  // A cron expression: minute hour day-of-month month day-of-week.
  std::bitset<60> minute;
  std::bitset<24> hour;
  std::bitset<32> dom;    // 1..31
  std::bitset<13> month;  // 1..12
  std::bitset<7> dow;     // 0..6, Sunday = 0 (7 is accepted for Sunday)
  // Vixie cron: when either day field starts with '*' (including "*/2"), a day must match
  // both fields; when both are restricted, matching either one is enough.
  bool dom_star = false;
  bool dow_star = false;

  bool is_interval() const { return every_s > 0; }
};

// "*/15 * * * *", "0 3 * * mon-fri", "@daily", ... Errors name the field and the fix.
Result<Schedule> ParseCron(std::string_view text);

// "30s", "5m", "1h30m", "2d": at least one second.
Result<Schedule> ParseInterval(std::string_view text);

// The first time the schedule fires strictly after AFTER (Unix seconds); nullopt when it
// never does within 400 years (e.g. "0 0 30 2 *"). A local time skipped by a daylight-saving
// jump fires at the moment mktime() maps it to (just after the jump); a local time that
// repeats fires once.
std::optional<int64_t> NextFire(const Schedule& schedule, int64_t after);

}  // namespace egret::cron
