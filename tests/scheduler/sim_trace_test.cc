// Trace parsing: SWF and CSV, and the errors bad lines get.
#include <gtest/gtest.h>

#include "scheduler/sim/trace.h"

namespace egret::sim {
namespace {

TEST(CsvTrace, ParsesWithAndWithoutTimeLimits) {
  auto t = ParseCsvTrace(
      "job_id,submit_s,runtime_s,gpus,tenant,time_limit_s\n"
      "# a comment\n"
      "7,20,50,2,acme,100\n"
      "\n"
      "3,10,60,1,globex\n",
      "trace.csv");
  ASSERT_TRUE(t.ok()) << t.error().message();
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->jobs[0].id, 3u);  // sorted by submit
  EXPECT_EQ(t->jobs[0].time_limit_s, 60);
  EXPECT_EQ(t->jobs[1].tenant, "acme");
  EXPECT_EQ(t->jobs[1].gpus, 2);
  EXPECT_EQ(t->jobs[1].time_limit_s, 100);
}

std::string CsvError(const std::string& text) {
  auto t = ParseCsvTrace(text, "trace.csv");
  return t.ok() ? "(no error)" : t.error().message();
}

TEST(CsvTrace, BadLinesNameTheLineAndField) {
  EXPECT_EQ(CsvError("1,0,10,1,a\n2,0,10,x,b\n"),
            "trace.csv:2: field gpus must be a whole number >= 1 (got \"x\")");
  EXPECT_EQ(CsvError("1,0,10,1.5,a\n"), "trace.csv:1: field gpus must be a whole number >= 1 (got \"1.5\")");
  EXPECT_EQ(CsvError("1,0,10,1\n"),
            "trace.csv:1: expected 5 or 6 fields (job_id,submit_s,runtime_s,gpus,tenant[,"
            "time_limit_s]), got 4");
  EXPECT_EQ(CsvError("1,-5,10,1,a\n"), "trace.csv:1: field submit_s must be a number of seconds >= 0 (got \"-5\")");
  EXPECT_EQ(CsvError("1,0,0,1,a\n"), "trace.csv:1: field runtime_s must be a number of seconds > 0 (got \"0\")");
  EXPECT_EQ(CsvError("1,0,10,1,a,5\n"),
            "trace.csv:1: field time_limit_s must be a number of seconds >= runtime_s (got \"5\")");
  EXPECT_EQ(CsvError("1,0,10,1,a\n1,5,10,1,b\n"), "trace.csv:2: job_id 1 appears twice; job ids must be unique");
  EXPECT_EQ(CsvError("1,0,10,1, \n"), "trace.csv:1: field tenant must be a tenant name (got \"\")");
}

// Two records from the Parallel Workloads Archive's format (18 fields), a header comment, and a
// cancelled job (run time -1) that is skipped.
const char* kSwf =
    "; Version: 2.2\n"
    "; MaxProcs: 128\n"
    "    1      0    10   3600    8  -1 -1    8   7200 -1 1 12 3 -1 1 1 -1 -1\n"
    "    2     30     5    600   -1  -1 -1    4     -1 -1 1 13 3 -1 1 1 -1 -1\n"
    "    3     40    -1     -1    4  -1 -1    4   3600 -1 5 12 3 -1 1 1 -1 -1\n";

TEST(SwfTrace, MapsProcessorsToGpusAndUsersToTenants) {
  auto t = ParseSwfTrace(kSwf, "log.swf");
  ASSERT_TRUE(t.ok()) << t.error().message();
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->skipped, 1);
  EXPECT_EQ(t->jobs[0].id, 1u);
  EXPECT_EQ(t->jobs[0].runtime_s, 3600);
  EXPECT_EQ(t->jobs[0].time_limit_s, 7200);
  EXPECT_EQ(t->jobs[0].gpus, 8);
  EXPECT_EQ(t->jobs[0].tenant, "u12");
  EXPECT_EQ(t->jobs[1].time_limit_s, 600);  // no requested time: the run time
  EXPECT_EQ(t->jobs[1].gpus, 4);            // requested processors
}

TEST(SwfTrace, GroupsFoldingAndProcessorsPerGpu) {
  SwfOptions o;
  o.tenant_by = SwfOptions::TenantBy::kGroup;
  o.procs_per_gpu = 3;
  auto t = ParseSwfTrace(kSwf, "log.swf", o);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs[0].tenant, "g3");
  EXPECT_EQ(t->jobs[0].gpus, 3);  // ceil(8 / 3)
  o = {};
  o.tenants = 2;
  t = ParseSwfTrace(kSwf, "log.swf", o);
  EXPECT_EQ(t->jobs[0].tenant, "t0");  // user 12 mod 2
  EXPECT_EQ(t->jobs[1].tenant, "t1");  // user 13 mod 2
}

TEST(SwfTrace, BadLinesNameTheLineAndField) {
  auto t = ParseSwfTrace("; x\n1 0 10 abc 8 -1 -1 8 7200 -1 1 12 3 -1 1 1 -1 -1\n", "log.swf");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "log.swf:2: field 4 (run time) is not a number (got \"abc\")");
  t = ParseSwfTrace("1 0 10 100 8 -1 -1 8 7200 -1 1 12 3 -1 1 1 -1\n", "log.swf");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "log.swf:1: expected 18 SWF fields, got 17");
}

TEST(Trace, CsvRoundTrip) {
  auto t = ParseSwfTrace(kSwf, "log.swf");
  ASSERT_TRUE(t.ok());
  auto back = ParseCsvTrace(TraceToCsv(*t), "back.csv");
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->jobs.size(), 2u);
  EXPECT_EQ(back->jobs[0].tenant, "u12");
  EXPECT_EQ(back->jobs[0].time_limit_s, 7200);
}

}  // namespace
}  // namespace egret::sim
