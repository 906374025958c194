#include "jobspecs/cron/schedule.h"

#include <cctype>
#include <ctime>
#include <vector>

#include "common/strings.h"
#include "jobspecs/cron/duration.h"

namespace egret::cron {
namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // names for lo..lo+n-1, or nullptr
  int name_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    // 7 is Sunday too, as in Vixie cron; folded onto 0 after parsing.
    {"day-of-week", 0, 7, kDayNames, 7},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A number or (for month/day-of-week) a three-letter name.
Result<int> ParseValue(const FieldSpec& f, std::string_view s, std::string_view field_text) {
  auto where = [&] { return std::string(f.name) + " field \"" + std::string(field_text) + "\": "; };
  if (s.empty()) return Error(where() + "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(s[0]))) {
    if (s.size() > 4) return Error(where() + std::string(s) + " is out of range " +
                                   std::to_string(f.lo) + "-" + std::to_string(f.hi));
    int v = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return Error(where() + "\"" + std::string(s) + "\" is not a number");
      v = v * 10 + (c - '0');
    }
    if (v < f.lo || v > f.hi)
      return Error(where() + std::to_string(v) + " is out of range " + std::to_string(f.lo) + "-" +
                   std::to_string(f.hi));
    return v;
  }
  if (f.names) {
    std::string l = Lower(s);
    for (int i = 0; i < f.name_count; ++i)
      if (l == f.names[i]) return f.lo + i;
    return Error(where() + "\"" + std::string(s) + "\" is not a " + f.name + " (use " +
                 std::to_string(f.lo) + "-" + std::to_string(f.hi) + " or " + f.names[0] + ".." +
                 f.names[f.name_count - 1] + ")");
  }
  return Error(where() + "\"" + std::string(s) + "\" is not a number");
}

// One comma-separated element: "*", "N", "A-B", each optionally "/STEP".
Status ParseElement(const FieldSpec& f, std::string_view elem, std::string_view field_text,
                    std::vector<bool>& bits) {
  auto where = [&] { return std::string(f.name) + " field \"" + std::string(field_text) + "\": "; };
  std::string_view range = elem;
  int step = 1;
  bool has_step = false;
  if (auto slash = elem.find('/'); slash != std::string_view::npos) {
    range = elem.substr(0, slash);
    std::string_view st = elem.substr(slash + 1);
    if (st.empty() || st.size() > 3 || st.find_first_not_of("0123456789") != st.npos)
      return Error(where() + "step \"" + std::string(st) + "\" is not a positive number");
    step = std::stoi(std::string(st));
    if (step == 0) return Error(where() + "a step of 0 never advances; use 1 or more");
    has_step = true;
  }
  int lo, hi;
  if (range == "*") {
    lo = f.lo;
    hi = f.hi;
  } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
    EGRET_ASSIGN_OR_RETURN(lo, ParseValue(f, range.substr(0, dash), field_text));
    EGRET_ASSIGN_OR_RETURN(hi, ParseValue(f, range.substr(dash + 1), field_text));
    if (lo > hi)
      return Error(where() + "range " + std::string(range) + " runs backwards (" +
                   std::to_string(lo) + " > " + std::to_string(hi) + ")" +
                   (f.names == kDayNames ? "; Sunday is 0 or 7, so write e.g. mon-7" : ""));
  } else {
    EGRET_ASSIGN_OR_RETURN(lo, ParseValue(f, range, field_text));
    // Vixie cron takes a step only after a range or '*'.
    if (has_step)
      return Error(where() + "a step needs a range or '*' before it: write " + std::string(range) +
                   "-" + std::to_string(f.hi) + "/" + std::to_string(step) + " or */" +
                   std::to_string(step));
    hi = lo;
  }
  for (int v = lo; v <= hi; v += step) bits[v] = true;
  return Ok();
}

Status ParseField(const FieldSpec& f, std::string_view text, std::vector<bool>& bits) {
  bits.assign(f.hi + 1, false);
  for (const auto& elem : Split(text, ','))
    EGRET_TRY(ParseElement(f, elem, text, bits));
  return Ok();
}

// Howard Hinnant's civil-date algorithms: days since 1970-01-01 <-> y/m/d, no time zone.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

unsigned WeekdayFromDays(int64_t z) {  // 1970-01-01 was a Thursday (4)
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

bool DayMatches(const Schedule& s, unsigned m, unsigned d, unsigned wd) {
  if (!s.month[m]) return false;
  bool dom = s.dom[d], dow = s.dow[wd];
  return (s.dom_star || s.dow_star) ? (dom && dow) : (dom || dow);
}

}  // namespace

Result<Schedule> ParseCron(std::string_view text) {
  std::string_view t = Trim(text);
  Schedule s;
  s.text = std::string(t);
  std::string expr(t);
  if (!t.empty() && t[0] == '@') {
    std::string l = Lower(t);
    if (l == "@yearly" || l == "@annually") expr = "0 0 1 1 *";
    else if (l == "@monthly") expr = "0 0 1 * *";
    else if (l == "@weekly") expr = "0 0 * * 0";
    else if (l == "@daily" || l == "@midnight") expr = "0 0 * * *";
    else if (l == "@hourly") expr = "0 * * * *";
    else
      return Error("\"" + std::string(t) +
                   "\" is not a schedule macro (use @hourly, @daily, @midnight, @weekly, "
                   "@monthly, @yearly or @annually)");
  }
  std::vector<std::string> fields;
  for (auto& f : Split(expr, ' ', true))
    for (auto& g : Split(f, '\t', true)) fields.push_back(g);
  if (fields.size() != 5)
    return Error("\"" + std::string(t) + "\" has " + std::to_string(fields.size()) +
                 " field(s); a cron schedule has 5: minute hour day-of-month month day-of-week "
                 "(e.g. \"*/15 * * * *\"), or is @hourly, @daily, @weekly, @monthly, @yearly");
  std::vector<bool> bits;
  EGRET_TRY(ParseField(kFields[0], fields[0], bits));
  for (int i = 0; i < 60; ++i) s.minute[i] = bits[i];
  EGRET_TRY(ParseField(kFields[1], fields[1], bits));
  for (int i = 0; i < 24; ++i) s.hour[i] = bits[i];
  EGRET_TRY(ParseField(kFields[2], fields[2], bits));
  for (int i = 1; i <= 31; ++i) s.dom[i] = bits[i];
  EGRET_TRY(ParseField(kFields[3], fields[3], bits));
  for (int i = 1; i <= 12; ++i) s.month[i] = bits[i];
  EGRET_TRY(ParseField(kFields[4], fields[4], bits));
  for (int i = 0; i < 7; ++i) s.dow[i] = bits[i];
  if (bits[7]) s.dow[0] = true;
  s.dom_star = fields[2][0] == '*';
  s.dow_star = fields[4][0] == '*';
  // A schedule that can never fire (Feb 30) is an error now, not a job that never runs.
  if (!NextFire(s, 0))
    return Error("\"" + std::string(t) +
                 "\" never fires: no month has the day(s) it names (check day-of-month against "
                 "month)");
  return s;
}

Result<Schedule> ParseInterval(std::string_view text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.error();
  if (*d < 1) return Error("interval \"" + std::string(Trim(text)) + "\" must be at least 1s");
  Schedule s;
  s.text = "every " + std::string(Trim(text));
  s.every_s = *d;
  return s;
}

std::optional<int64_t> NextFire(const Schedule& s, int64_t after) {
  if (s.is_interval()) {
    int64_t q = after >= 0 ? after / s.every_s : -((-after + s.every_s - 1) / s.every_s);
    return (q + 1) * s.every_s;
  }
  time_t a = static_cast<time_t>(after);
  struct tm lt;
  if (!localtime_r(&a, &lt)) return std::nullopt;
  // Start a day early: near a daylight-saving change, a local time of the previous civil
  // day can still map to an instant after AFTER.
  int64_t day = DaysFromCivil(lt.tm_year + 1900, static_cast<unsigned>(lt.tm_mon + 1),
                              static_cast<unsigned>(lt.tm_mday)) - 1;
  const int64_t last_day = day + 400 * 366;
  for (; day <= last_day; ++day) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(day, y, m, d);
    if (!DayMatches(s, m, d, WeekdayFromDays(day))) continue;
    // Take the earliest instant of the day's candidates: across a daylight-saving jump the
    // instants are not in the order of the local times.
    std::optional<int64_t> best;
    for (int h = 0; h < 24; ++h) {
      if (!s.hour[h]) continue;
      for (int mi = 0; mi < 60; ++mi) {
        if (!s.minute[mi]) continue;
        struct tm c = {};
        c.tm_year = static_cast<int>(y - 1900);
        c.tm_mon = static_cast<int>(m) - 1;
        c.tm_mday = static_cast<int>(d);
        c.tm_hour = h;
        c.tm_min = mi;
        c.tm_isdst = -1;
        time_t t = mktime(&c);
        if (t == static_cast<time_t>(-1)) continue;
        if (t > a && (!best || t < *best)) best = t;
      }
    }
    if (best) return best;
  }
  return std::nullopt;
}

}  // namespace egret::cron
