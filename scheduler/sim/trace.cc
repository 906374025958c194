#include "scheduler/sim/trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/fs.h"
#include "common/strings.h"

namespace egret::sim {
namespace {

std::string Where(std::string_view file, int line) {
  return std::string(file) + ":" + std::to_string(line) + ": ";
}

bool ParseDouble(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end && std::isfinite(*out);
}

bool ParseUint(std::string_view s, uint64_t* out) {
  s = Trim(s);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

void Sort(Trace* t) {
  std::stable_sort(t->jobs.begin(), t->jobs.end(), [](const TraceJob& a, const TraceJob& b) {
    return a.submit_s != b.submit_s ? a.submit_s < b.submit_s : a.id < b.id;
  });
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = nl + 1;
  }
  return lines;
}

}  // namespace

Result<Trace> ParseCsvTrace(std::string_view text, std::string_view name) {
  Trace trace;
  std::set<uint64_t> ids;
  auto lines = Lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int ln = static_cast<int>(i + 1);
    std::string_view line = Trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = Split(line, ',');
    if (f.size() >= 5 && Trim(f[0]) == "job_id") continue;  // header
    if (f.size() != 5 && f.size() != 6)
      return Error(Where(name, ln) + "expected 5 or 6 fields (job_id,submit_s,runtime_s,gpus,"
                                     "tenant[,time_limit_s]), got " + std::to_string(f.size()));
    TraceJob j;
    double gpus = 0;
    auto bad = [&](const char* field, const std::string& value, const char* want) {
      return Error(Where(name, ln) + "field " + field + " must be " + want + " (got \"" +
                   std::string(Trim(value)) + "\")");
    };
    if (!ParseUint(f[0], &j.id)) return bad("job_id", f[0], "a whole number >= 0");
    if (!ParseDouble(f[1], &j.submit_s) || j.submit_s < 0)
      return bad("submit_s", f[1], "a number of seconds >= 0");
    if (!ParseDouble(f[2], &j.runtime_s) || j.runtime_s <= 0)
      return bad("runtime_s", f[2], "a number of seconds > 0");
    if (!ParseDouble(f[3], &gpus) || gpus < 1 || gpus != std::floor(gpus) || gpus > 1e6)
      return bad("gpus", f[3], "a whole number >= 1");
    j.gpus = static_cast<int>(gpus);
    j.tenant = std::string(Trim(f[4]));
    if (j.tenant.empty()) return bad("tenant", f[4], "a tenant name");
    j.time_limit_s = j.runtime_s;
    if (f.size() == 6) {
      if (!ParseDouble(f[5], &j.time_limit_s) || j.time_limit_s < j.runtime_s)
        return bad("time_limit_s", f[5], "a number of seconds >= runtime_s");
    }
    if (!ids.insert(j.id).second)
      return Error(Where(name, ln) + "job_id " + std::to_string(j.id) +
                   " appears twice; job ids must be unique");
    trace.jobs.push_back(std::move(j));
  }
  Sort(&trace);
  return trace;
}

Result<Trace> ParseSwfTrace(std::string_view text, std::string_view name, const SwfOptions& opt) {
  static const char* kFields[18] = {
      "job number", "submit time", "wait time", "run time", "allocated processors",
      "average CPU time", "used memory", "requested processors", "requested time",
      "requested memory", "status", "user id", "group id", "executable number", "queue number",
      "partition number", "preceding job", "think time"};
  if (opt.procs_per_gpu < 1) return Error("procs_per_gpu must be >= 1");
  Trace trace;
  std::set<uint64_t> ids;
  auto lines = Lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int ln = static_cast<int>(i + 1);
    std::string_view line = Trim(lines[i]);
    if (line.empty() || line[0] == ';') continue;  // ';' starts SWF header comments
    std::vector<std::string> f = Split(line, ' ', true);
    // Fields are separated by any whitespace.
    std::vector<std::string> fields;
    for (auto& x : f)
      for (auto& y : Split(x, '\t', true)) fields.push_back(y);
    if (fields.size() != 18)
      return Error(Where(name, ln) + "expected 18 SWF fields, got " + std::to_string(fields.size()));
    double v[18];
    for (int k = 0; k < 18; ++k) {
      if (!ParseDouble(fields[k], &v[k]))
        return Error(Where(name, ln) + "field " + std::to_string(k + 1) + " (" + kFields[k] +
                     ") is not a number (got \"" + fields[k] + "\")");
    }
    if (v[0] < 0 || v[0] != std::floor(v[0]))
      return Error(Where(name, ln) + "field 1 (job number) must be a whole number >= 0 (got \"" +
                   fields[0] + "\")");
    if (v[1] < 0)
      return Error(Where(name, ln) + "field 2 (submit time) must be >= 0 (got \"" + fields[1] + "\")");
    const double procs = v[7] > 0 ? v[7] : v[4];  // requested, else allocated
    if (v[3] <= 0 || procs <= 0) {
      ++trace.skipped;  // never ran (cancelled before start): nothing to replay
      continue;
    }
    TraceJob j;
    j.id = static_cast<uint64_t>(v[0]);
    j.submit_s = v[1];
    j.runtime_s = v[3];
    j.time_limit_s = v[8] > 0 ? std::max(v[8], v[3]) : v[3];
    j.gpus = static_cast<int>(std::ceil(procs / opt.procs_per_gpu));
    const double who = opt.tenant_by == SwfOptions::TenantBy::kUser ? v[11] : v[12];
    const char* prefix = opt.tenant_by == SwfOptions::TenantBy::kUser ? "u" : "g";
    const long long id = static_cast<long long>(who);
    if (opt.tenants > 0)
      j.tenant = "t" + std::to_string(((id % opt.tenants) + opt.tenants) % opt.tenants);
    else
      j.tenant = prefix + std::to_string(id);
    if (!ids.insert(j.id).second)
      return Error(Where(name, ln) + "job number " + std::to_string(j.id) + " appears twice");
    trace.jobs.push_back(std::move(j));
  }
  Sort(&trace);
  return trace;
}

Result<Trace> LoadTrace(const std::string& path, const SwfOptions& swf) {
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".swf") == 0)
    return ParseSwfTrace(text, path, swf);
  return ParseCsvTrace(text, path);
}

std::string TraceToCsv(const Trace& trace) {
  std::string out = "job_id,submit_s,runtime_s,gpus,tenant,time_limit_s\n";
  char buf[160];
  for (const TraceJob& j : trace.jobs) {
    std::snprintf(buf, sizeof buf, "%llu,%.0f,%.0f,%d,", static_cast<unsigned long long>(j.id),
                  j.submit_s, j.runtime_s, j.gpus);
    out += buf;
    out += j.tenant;
    std::snprintf(buf, sizeof buf, ",%.0f\n", j.time_limit_s);
    out += buf;
  }
  return out;
}

}  // namespace egret::sim
