#include "scheduler/policy/budget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace egret::policy {
namespace {

struct Civil {
  int64_t y;
  unsigned m, d;
};

// Howard Hinnant's civil-from-days / days-from-civil (proleptic Gregorian, UTC).
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The monthly period start in month (Y, M): the anchor's day (clamped) and time of day.
Time MonthStart(int64_t y, int64_t m0, unsigned day, double tod) {
  int64_t yy = y + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
  unsigned mm = static_cast<unsigned>(((m0 % 12) + 12) % 12) + 1;
  unsigned dd = std::min(day, DaysInMonth(yy, mm));
  return static_cast<Time>(DaysFromCivil(yy, mm, dd)) * 86400.0 + tod;
}

std::string Date(Time t) {
  int64_t days = static_cast<int64_t>(std::floor(t / 86400.0));
  Civil c = CivilFromDays(days);
  int64_t sod = static_cast<int64_t>(t - static_cast<double>(days) * 86400.0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld UTC", static_cast<long long>(c.y),
                c.m, c.d, static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60));
  return buf;
}

std::string Hours(double gpu_s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", gpu_s / 3600.0);
  return buf;
}

std::string Minutes(double s) {
  char buf[32];
  long long m = static_cast<long long>(std::floor(s / 60.0));
  if (m >= 60)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", m / 60, m % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm", m);
  return buf;
}

}  // namespace

PeriodBounds BudgetPeriodAt(Period period, Time period_start, Time now) {
  if (period != Period::kMonthly) {
    const double len = period == Period::kDaily ? 86400.0 : 7 * 86400.0;
    double k = std::floor((now - period_start) / len);
    return {period_start + k * len, period_start + (k + 1) * len};
  }
  int64_t anchor_days = static_cast<int64_t>(std::floor(period_start / 86400.0));
  Civil a = CivilFromDays(anchor_days);
  double tod = period_start - static_cast<double>(anchor_days) * 86400.0;
  Civil n = CivilFromDays(static_cast<int64_t>(std::floor(now / 86400.0)));
  int64_t m0 = static_cast<int64_t>(n.m) - 1;  // months counted from January of n.y
  Time start = MonthStart(n.y, m0, a.d, tod);
  if (start > now) {
    --m0;
    start = MonthStart(n.y, m0, a.d, tod);
  }
  return {start, MonthStart(n.y, m0 + 1, a.d, tod)};
}

double CommittedGpuSeconds(const Spec& spec, const RunningJob& job, Time now) {
  if (job.time_limit_s <= 0) return 0;
  double left = job.start + job.time_limit_s - now;
  return left > 0 ? left * job.gpus * spec.partitions[job.partition].weight : 0;
}

BudgetCheck CheckBudget(const Spec& spec, int tenant, int partition, int gpus,
                        double time_limit_s, double used_gpu_s, double committed_gpu_s, Time now) {
  const TenantSpec& t = spec.tenants[tenant];
  const PartitionSpec& p = spec.partitions[partition];
  if (std::isinf(t.budget_gpu_hours) || gpus == 0 || p.weight == 0) return {};
  const double budget = t.budget_gpu_hours * 3600.0;
  const double left = budget - used_gpu_s;
  const std::string resets =
      " (resets " + Date(BudgetPeriodAt(spec.budget_period, spec.budget_period_start, now).end) + ")";
  const std::string head = t.name + ": GPU-hour budget ";
  if (left <= 0) {
    return {BudgetVerdict::kDenied, head + "spent: " + Hours(used_gpu_s) + " of " +
                                        Hours(budget) + " used this period" + resets};
  }
  if (time_limit_s <= 0) {
    return {BudgetVerdict::kDenied,
            head + "applies and the job has no time limit; set one (sbatch --time) so its cost "
                   "is bounded"};
  }
  const double rate = gpus * p.weight;
  const double cost = rate * time_limit_s;
  if (cost > left) {
    return {BudgetVerdict::kDenied,
            head + "too small for this job: it may use " + Hours(cost) + " GPU-hours (" +
                std::to_string(gpus) + " GPUs x " + Minutes(time_limit_s) + ") but " +
                Hours(left) + " of " + Hours(budget) + " are left" + resets +
                "; shorten --time to at most " + Minutes(left / rate) + " or ask an admin"};
  }
  if (cost > left - committed_gpu_s) {
    return {BudgetVerdict::kWait,
            t.name + ": waits for GPU-hour budget: " + Hours(left) +
                " GPU-hours left, but running jobs may still use " +
                Hours(committed_gpu_s) + " and this job up to " + Hours(cost) +
                "; it starts when they end or if they end early"};
  }
  return {};
}

}  // namespace egret::policy
