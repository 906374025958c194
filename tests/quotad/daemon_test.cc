// The daemon as an admin meets it: SIGHUP reloads tenants.toml and keeps the old config when
// the new one is invalid (saying why), Prometheus metrics over HTTP, the JSON-lines audit log,
// one daemon per state dir, and leases that survive a clean restart.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/quotad/daemon_harness.h"
#include "tests/quotad/test_config.h"
#include "tests/support/slurm.h"

namespace egret::quotad {
namespace {

using nlohmann::json;
using testing::Daemon;

bool WaitFor(const std::function<bool()>& pred, double seconds = 5) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
  (void)!::send(fd, req.data(), req.size(), 0);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

json Acquire(const Daemon& d, int job, const std::string& tenant, int gpus) {
  auto r = d.Call({{"op", "acquire"}, {"job_id", job}, {"tenant", tenant}, {"partition", "gpu"}, {"gpus", gpus}});
  return r.ok() ? *r : json{{"transport", r.error().message()}};
}

TEST(Daemon, SighupReloadsAndAnInvalidFileKeepsTheOldConfig) {
  Daemon d("reload", testing::kUnitConfig);
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  std::string path = d.dir() + "/tenants.toml";
  // Break the file: a negative quota.
  std::string bad = testing::kUnitConfig;
  bad.replace(bad.find("gpu_quota = { gpu = 2 }"), 23, "gpu_quota = { gpu = -2 }");
  std::ofstream(path) << bad;
  ::kill(d.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return d.log().find("keeping the old config") != std::string::npos; })) << d.log();
  EXPECT_NE(d.log().find("tenants.toml:"), std::string::npos) << "the log names the file and line:\n" << d.log();
  auto tenants = d.Call({{"op", "query"}, {"view", "tenants"}});
  ASSERT_TRUE(tenants.ok());
  EXPECT_EQ((*tenants)["result"].size(), 3u) << "the old config still serves";
  // The reload op says the same to the admin who asked.
  auto r = d.Call({{"op", "reload"}});
  EXPECT_FALSE((*r)["ok"].get<bool>());
  EXPECT_NE((*r)["error"].get<std::string>().find("kept the old config"), std::string::npos) << r->dump();
  // A valid file with a fourth tenant is taken.
  std::string good = std::string(testing::kUnitConfig) +
                     "\n[[tenant]]\nname = \"hooli\"\nmembers = [\"carol\"]\nallowed_partitions = [\"gpu\"]\n";
  std::ofstream(path) << good;
  ::kill(d.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    auto t = d.Call({{"op", "query"}, {"view", "tenants"}});
    return t.ok() && (*t)["result"].size() == 4u;
  })) << d.log();
  ASSERT_TRUE(d.Stop().ok());
}

TEST(Daemon, ServesPrometheusMetrics) {
  Daemon d("metrics", testing::kUnitConfig, {"--metrics", "127.0.0.1:0"});
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  std::smatch m;
  std::string log = d.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics on 127\.0\.0\.1:0 \(port (\d+)\))"))) << log;
  int port = std::stoi(m[1]);
  ASSERT_EQ(Acquire(d, 1, "acme", 4)["decision"], "granted");
  ASSERT_EQ(Acquire(d, 2, "acme", 2)["decision"], "borrowed");
  ASSERT_EQ(Acquire(d, 3, "acme", 4)["decision"], "denied");
  std::string text = HttpGet(port, "/metrics");
  ASSERT_NE(text.find("HTTP/1.0 200 OK"), std::string::npos) << text;
  for (const char* line : {
           "egret_quotad_in_use_gpus{tenant=\"acme\",partition=\"gpu\"} 6",
           "egret_quotad_borrowed_gpus{tenant=\"acme\",partition=\"gpu\"} 2",
           "egret_quotad_quota_gpus{tenant=\"globex\",partition=\"gpu\"} 4",
           "egret_quotad_decisions_total{outcome=\"granted\"} 1",
           "egret_quotad_decisions_total{outcome=\"borrowed\"} 1",
           "egret_quotad_decisions_total{outcome=\"denied\"} 1",
           "egret_quotad_queue_length{tenant=\"acme\"} 0",
           "egret_quotad_open_leases 2",
           "# TYPE egret_quotad_request_seconds histogram",
           "egret_quotad_request_seconds_count{op=\"acquire\"} 3",
           "egret_quotad_usage_gpu_seconds{tenant=\"acme\"}",
           "egret_quotad_fairshare_factor{tenant=\"acme\"}",
       })
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  EXPECT_NE(HttpGet(port, "/secret").find("404"), std::string::npos);
}

TEST(Daemon, WritesAnAuditLineForEveryDecision) {
  Daemon d("audit", testing::kUnitConfig);
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  Acquire(d, 1, "acme", 1);
  Acquire(d, 2, "nobody-tenant", 1);
  ASSERT_TRUE(d.Call({{"op", "release"}, {"job_id", 1}, {"end_time", 2e9}}).ok());
  ASSERT_TRUE(d.Stop().ok());
  std::ifstream in(d.state_dir() + "/audit.jsonl");
  std::vector<json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["event"], "acquire");
  EXPECT_EQ(lines[0]["decision"], "granted");
  EXPECT_EQ(lines[0]["job_id"], 1);
  EXPECT_EQ(lines[1]["decision"], "denied");
  EXPECT_NE(lines[1]["reason"].get<std::string>().find("unknown tenant"), std::string::npos);
  EXPECT_EQ(lines[2]["event"], "release");
  EXPECT_TRUE(lines[2].contains("charged_units"));
  EXPECT_TRUE(lines[2].contains("time"));
}

TEST(Daemon, OneDaemonPerStateDir) {
  Daemon a("lock", testing::kUnitConfig);
  ASSERT_TRUE(a.Start().ok());
  ProcessOptions po;
  po.timeout_s = 10;
  auto r = RunProcess({testing::QuotadBinary(), "--config", a.dir() + "/tenants.toml", "--state-dir",
                       a.state_dir(), "--socket", a.dir() + "/other.sock", "--metrics", "off",
                       "--no-slurm", "--foreground"},
                      po);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("another egret-quotad (pid " + std::to_string(a.pid())), std::string::npos) << r->err;
}

TEST(Daemon, LeasesAndUsageSurviveARestart) {
  Daemon d("restart", testing::kUnitConfig);
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  json a = Acquire(d, 11, "globex", 3);
  ASSERT_EQ(a["decision"], "granted");
  Acquire(d, 12, "acme", 1);
  double granted = a["lease"]["granted_at"].get<double>();
  ASSERT_TRUE(d.Call({{"op", "release"}, {"job_id", 12}, {"end_time", 2e9}}).ok());
  ASSERT_TRUE(d.Stop().ok());
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  auto l = d.Call({{"op", "get_lease"}, {"job_id", 11}});
  ASSERT_TRUE((*l)["ok"].get<bool>()) << l->dump();
  EXPECT_EQ((*l)["lease"]["gpus"], 3);
  EXPECT_DOUBLE_EQ((*l)["lease"]["granted_at"].get<double>(), granted);
  auto again = d.Call({{"op", "release"}, {"job_id", 12}, {"end_time", 2e9}});
  EXPECT_FALSE((*again)["closed"].get<bool>()) << "released before the restart: nothing more to charge";
  auto usage = d.Call({{"op", "query"}, {"view", "usage"}});
  bool found = false;
  for (const auto& row : (*usage)["result"]["tenants"])
    if (row["tenant"] == "globex" && row["partition"] == "gpu") {
      found = true;
      EXPECT_EQ(row["in_use_gpus"], 3);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace egret::quotad
