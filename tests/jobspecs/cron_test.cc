// Cron next-fire times against dates worked out by hand from a calendar (Nov 25 2026 is a
// Wednesday; 2028 is a leap year, 2100 is not), and Vixie cron's day rule: when both day
// fields are restricted a day matches either, but a day field that starts with '*' (even
// "*/2") makes the match need both (cron.c: DOM_STAR/DOW_STAR from the field's first char).
#include <cstdlib>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "jobspecs/cron/duration.h"
#include "jobspecs/cron/schedule.h"

namespace egret::cron {
namespace {

class Zone {
 public:
  explicit Zone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~Zone() {
    if (had_) setenv("TZ", old_.c_str(), 1);
    else unsetenv("TZ");
    tzset();
  }

 private:
  bool had_;
  std::string old_;
};

// "2026-11-25 00:00:00" read in the current TZ.
int64_t At(const char* text) {
  struct tm t = {};
  EXPECT_NE(strptime(text, "%Y-%m-%d %H:%M:%S", &t), nullptr) << text;
  t.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&t));
}

std::string Show(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm lt;
  localtime_r(&tt, &lt);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &lt);
  return buf;
}

std::string Next(const char* expr, const char* after) {
  auto s = ParseCron(expr);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  if (!s.ok()) return "parse error";
  auto t = NextFire(*s, At(after));
  return t ? Show(*t) : "never";
}

TEST(Cron, StepsRollOverMinuteHourAndMonthEnd) {
  Zone z("UTC");
  EXPECT_EQ(Next("*/15 * * * *", "2026-01-31 23:50:00"), "2026-02-01 00:00:00 UTC");
  EXPECT_EQ(Next("*/15 * * * *", "2026-01-31 23:45:00"), "2026-02-01 00:00:00 UTC");
  EXPECT_EQ(Next("*/15 * * * *", "2026-01-31 23:44:59"), "2026-01-31 23:45:00 UTC");
  EXPECT_EQ(Next("5-20/5 * * * *", "2026-05-10 10:20:00"), "2026-05-10 11:05:00 UTC");
  EXPECT_EQ(Next("0 0 1 1 *", "2026-12-31 23:59:59"), "2027-01-01 00:00:00 UTC");
}

TEST(Cron, DayThirtyOneSkipsShortMonths) {
  Zone z("UTC");
  // April and June have 30 days: from April 1 the next 31st is May 31, then July 31.
  EXPECT_EQ(Next("0 0 31 * *", "2026-04-01 00:00:00"), "2026-05-31 00:00:00 UTC");
  EXPECT_EQ(Next("0 0 31 * *", "2026-05-31 00:00:00"), "2026-07-31 00:00:00 UTC");
  EXPECT_EQ(Next("0 0 30 * *", "2026-01-30 00:00:00"), "2026-03-30 00:00:00 UTC");  // no Feb 30
}

TEST(Cron, LeapDays) {
  Zone z("UTC");
  EXPECT_EQ(Next("0 12 29 2 *", "2025-03-01 00:00:00"), "2028-02-29 12:00:00 UTC");
  // 2100 is divisible by 100 and not by 400: no Feb 29 until 2104.
  EXPECT_EQ(Next("0 12 29 2 *", "2096-03-01 00:00:00"), "2104-02-29 12:00:00 UTC");
}

TEST(Cron, BothDayFieldsRestrictedMatchEither) {
  Zone z("UTC");
  // The 13th or any Friday. From Wed Nov 25 2026: Friday Nov 27 comes first.
  EXPECT_EQ(Next("0 0 13 * 5", "2026-11-25 00:00:00"), "2026-11-27 00:00:00 UTC");
  EXPECT_EQ(Next("0 0 13 * fri", "2026-11-27 00:00:00"), "2026-12-04 00:00:00 UTC");
  // From Friday Dec 11: Sunday the 13th comes before Friday Dec 18.
  EXPECT_EQ(Next("0 0 13 * 5", "2026-12-11 00:00:00"), "2026-12-13 00:00:00 UTC");
  // An explicit odd-day range is a restriction: odd days OR Mondays; Nov 27 is odd.
  EXPECT_EQ(Next("0 0 1-31/2 * 1", "2026-11-25 00:00:00"), "2026-11-27 00:00:00 UTC");
}

TEST(Cron, StarStepInADayFieldMeansBothMustMatch) {
  Zone z("UTC");
  // "*/2" starts with '*': odd days AND Mondays. Mon Nov 30 is even; Mon Dec 7 is odd.
  EXPECT_EQ(Next("0 0 */2 * 1", "2026-11-25 00:00:00"), "2026-12-07 00:00:00 UTC");
  // Only one day field restricted: it alone decides.
  EXPECT_EQ(Next("0 0 * * 1", "2026-11-25 00:00:00"), "2026-11-30 00:00:00 UTC");
  EXPECT_EQ(Next("0 0 27 * *", "2026-11-25 00:00:00"), "2026-11-27 00:00:00 UTC");
}

TEST(Cron, NamesSundaySevenAndMacros) {
  Zone z("UTC");
  EXPECT_EQ(Next("0 0 * * 7", "2026-11-25 00:00:00"), "2026-11-29 00:00:00 UTC");
  EXPECT_EQ(Next("0 0 * * SUN", "2026-11-25 00:00:00"), "2026-11-29 00:00:00 UTC");
  EXPECT_EQ(Next("30 2 * * mon-fri", "2026-11-27 03:00:00"), "2026-11-30 02:30:00 UTC");
  EXPECT_EQ(Next("0 0 1 jan,jul *", "2026-02-01 00:00:00"), "2026-07-01 00:00:00 UTC");
  EXPECT_EQ(Next("@hourly", "2026-11-25 10:59:59"), "2026-11-25 11:00:00 UTC");
  EXPECT_EQ(Next("@daily", "2026-11-25 10:59:59"), "2026-11-26 00:00:00 UTC");
  EXPECT_EQ(Next("@weekly", "2026-11-25 10:59:59"), "2026-11-29 00:00:00 UTC");
  EXPECT_EQ(Next("@monthly", "2026-11-25 10:59:59"), "2026-12-01 00:00:00 UTC");
  EXPECT_EQ(Next("@yearly", "2026-11-25 10:59:59"), "2027-01-01 00:00:00 UTC");
}

TEST(Cron, DaylightSavingGapAndRepeat) {
  Zone z("America/New_York");
  // Sun Mar 8 2026, 02:00 EST jumps to 03:00 EDT: 02:30 does not exist and fires once,
  // just after the jump (mktime reads 02:30 as standard time: 07:30 UTC = 03:30 EDT).
  EXPECT_EQ(Next("30 2 * * *", "2026-03-08 00:00:00"), "2026-03-08 03:30:00 EDT");
  EXPECT_EQ(Next("30 2 * * *", "2026-03-08 04:00:00"), "2026-03-09 02:30:00 EDT");
  // Sun Nov 1 2026, 02:00 EDT falls back to 01:00 EST: 01:30 happens twice, fires once.
  auto s = ParseCron("30 1 * * *");
  ASSERT_TRUE(s.ok());
  int64_t first = *NextFire(*s, At("2026-11-01 00:00:00"));
  int64_t second = *NextFire(*s, first);
  EXPECT_TRUE(Show(first) == "2026-11-01 01:30:00 EDT" || Show(first) == "2026-11-01 01:30:00 EST")
      << Show(first);
  EXPECT_EQ(Show(second), "2026-11-02 01:30:00 EST");
}

TEST(Cron, IntervalsAreAlignedToTheEpoch) {
  auto s = ParseInterval("30s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*NextFire(*s, 1000), 1020);
  EXPECT_EQ(*NextFire(*s, 1020), 1050);
  EXPECT_EQ(*NextFire(*s, 1049), 1050);
  auto h = ParseInterval("1h30m");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->every_s, 5400);
  EXPECT_EQ(*NextFire(*h, 0), 5400);
}

std::string CronError(const char* expr) {
  auto s = ParseCron(expr);
  return s.ok() ? "ok" : s.error().message();
}

TEST(Cron, BadExpressionsSayWhatAndHow) {
  EXPECT_EQ(CronError("*/5 * * *"),
            "\"*/5 * * *\" has 4 field(s); a cron schedule has 5: minute hour day-of-month month "
            "day-of-week (e.g. \"*/15 * * * *\"), or is @hourly, @daily, @weekly, @monthly, @yearly");
  EXPECT_EQ(CronError("61 * * * *"), "minute field \"61\": 61 is out of range 0-59");
  EXPECT_EQ(CronError("0 24 * * *"), "hour field \"24\": 24 is out of range 0-23");
  EXPECT_EQ(CronError("0 0 0 * *"), "day-of-month field \"0\": 0 is out of range 1-31");
  EXPECT_EQ(CronError("5/10 * * * *"),
            "minute field \"5/10\": a step needs a range or '*' before it: write 5-59/10 or */10");
  EXPECT_EQ(CronError("*/0 * * * *"), "minute field \"*/0\": a step of 0 never advances; use 1 or more");
  EXPECT_EQ(CronError("0 0 * * mon-sun"),
            "day-of-week field \"mon-sun\": range mon-sun runs backwards (1 > 0); Sunday is 0 or 7, "
            "so write e.g. mon-7");
  EXPECT_EQ(CronError("0 0 * foo *"),
            "month field \"foo\": \"foo\" is not a month (use 1-12 or jan..dec)");
  EXPECT_EQ(CronError("@reboot"),
            "\"@reboot\" is not a schedule macro (use @hourly, @daily, @midnight, @weekly, @monthly, "
            "@yearly or @annually)");
  EXPECT_EQ(CronError("0 0 30 2 *"),
            "\"0 0 30 2 *\" never fires: no month has the day(s) it names (check day-of-month "
            "against month)");
  EXPECT_EQ(CronError("0 0 31 4,6,9,11 *").substr(0, 31), "\"0 0 31 4,6,9,11 *\" never fires");
}

TEST(Duration, FormsAndErrors) {
  EXPECT_EQ(*ParseDuration("90s"), 90);
  EXPECT_EQ(*ParseDuration("2d12h"), 216000);
  EXPECT_EQ(ParseDuration("1m1h").error().message(),
            "\"1m1h\": unit 'h' is not one of d, h, m, s in that order (write e.g. \"30s\", \"5m\", "
            "\"1h30m\", \"2d\")");
  EXPECT_EQ(ParseDuration("30").error().message(),
            "\"30\" is not a duration (write e.g. \"30s\", \"5m\", \"1h30m\", \"2d\")");
  // Slurm's --time forms; a bare number is minutes.
  EXPECT_EQ(*ParseTimeLimit("30"), 1800);
  EXPECT_EQ(*ParseTimeLimit("10:30"), 630);
  EXPECT_EQ(*ParseTimeLimit("1:00:00"), 3600);
  EXPECT_EQ(*ParseTimeLimit("2-12"), 216000);
  EXPECT_EQ(*ParseTimeLimit("1-0:30"), 88200);
  EXPECT_EQ(*ParseTimeLimit("2h"), 7200);
  EXPECT_EQ(FormatSlurmTime(88230), "1-00:30:30");
  EXPECT_EQ(ParseTimeLimit("0").error().message(), "time limit must be positive (got \"0\")");
}

}  // namespace
}  // namespace egret::cron
