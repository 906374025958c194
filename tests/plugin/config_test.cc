// plugstack.conf arguments: defaults, every key, and the errors an admin reads.
#include <gtest/gtest.h>

#include "plugins/config.h"

namespace egret::plugin {
namespace {

TEST(PluginConfig, DefaultsFailClosedWithEveryPartitionManaged) {
  auto c = ParseConfig({});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->socket, "/run/egret/quotad.sock");
  EXPECT_EQ(c->tenants_root, "/srv/egret/tenants");
  EXPECT_EQ(c->job_root, "/var/lib/egret/jobs");
  EXPECT_EQ(c->shm_root, "/run/egret/shm");
  EXPECT_EQ(c->failure, FailurePolicy::kClosed);
  EXPECT_TRUE(c->unmanaged.empty());
  EXPECT_EQ(c->writable, std::vector<std::string>{"checkpoints"});
  EXPECT_TRUE(c->hidepid);
  EXPECT_EQ(c->group_prefix, "egret-");
}

TEST(PluginConfig, ParsesEveryKey) {
  auto c = ParseConfig({"socket=/x/q.sock", "tenants_root=/data//tenants/", "job_root=/var/j",
                        "shm_root=/run/s", "unmanaged=cpu, debug", "writable=data,checkpoints",
                        "keep_env=HF_TOKEN", "group_prefix=t_", "failure=open", "hidepid=no",
                        "timeout=1.5"});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->socket, "/x/q.sock");
  EXPECT_EQ(c->tenants_root, "/data/tenants");
  EXPECT_EQ(c->job_root, "/var/j");
  EXPECT_EQ(c->shm_root, "/run/s");
  EXPECT_EQ(c->unmanaged, (std::vector<std::string>{"cpu", "debug"}));
  EXPECT_EQ(c->writable, (std::vector<std::string>{"data", "checkpoints"}));
  EXPECT_EQ(c->keep_env, std::vector<std::string>{"HF_TOKEN"});
  EXPECT_EQ(c->group_prefix, "t_");
  EXPECT_EQ(c->failure, FailurePolicy::kOpen);
  EXPECT_FALSE(c->hidepid);
  EXPECT_DOUBLE_EQ(c->timeout_s, 1.5);
}

TEST(PluginConfig, RoundTripsThroughItsArguments) {
  auto c = ParseConfig({"unmanaged=cpu", "keep_env=A,B", "failure=open"});
  ASSERT_TRUE(c.ok());
  auto again = ParseConfig(ConfigArgs(*c));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(ConfigArgs(*again), ConfigArgs(*c));
}

struct BadArg {
  std::string arg, expected;
};

class PluginConfigErrors : public ::testing::TestWithParam<BadArg> {};

TEST_P(PluginConfigErrors, NameTheArgumentAndTheFix) {
  auto c = ParseConfig({GetParam().arg});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    All, PluginConfigErrors,
    ::testing::Values(
        BadArg{"sockt=/x", "plugstack.conf: egret.so argument 'sockt=/x': unknown key 'sockt' "
                           "(keys: socket, tenants_root, job_root, shm_root, unmanaged, writable, "
                           "keep_env, group_prefix, failure, hidepid, timeout)"},
        BadArg{"socket", "plugstack.conf: egret.so argument 'socket': expected key=value (keys: "
                         "socket, tenants_root, job_root, shm_root, unmanaged, writable, keep_env, "
                         "group_prefix, failure, hidepid, timeout)"},
        BadArg{"tenants_root=srv/t", "plugstack.conf: egret.so argument 'tenants_root=srv/t': "
                                     "must be an absolute path"},
        BadArg{"tenants_root=/", "plugstack.conf: egret.so argument 'tenants_root=/': must not "
                                 "be / itself"},
        BadArg{"tenants_root=/tmp/t", "plugstack.conf: egret.so argument 'tenants_root=/tmp/t': "
                                      "must not be under /tmp, /dev, /proc or /sys (jobs get "
                                      "private ones)"},
        BadArg{"job_root=/dev/shm/j", "plugstack.conf: egret.so argument 'job_root=/dev/shm/j': "
                                      "must not be under /tmp, /dev, /proc or /sys (jobs get "
                                      "private ones)"},
        BadArg{"shm_root=/tmp/s", "plugstack.conf: egret.so argument 'shm_root=/tmp/s': must not "
                                  "be under /tmp, /proc or /sys (use a tmpfs such as /dev/shm)"},
        BadArg{"failure=maybe", "plugstack.conf: egret.so argument 'failure=maybe': must be "
                                "'closed' (refuse when egret-quotad is unreachable) or 'open'"},
        BadArg{"writable=home", "plugstack.conf: egret.so argument 'writable=home': 'home' is not "
                                "a tenant subdirectory (data, models, checkpoints)"},
        BadArg{"timeout=0", "plugstack.conf: egret.so argument 'timeout=0': must be a number of "
                            "seconds in (0, 300]"},
        BadArg{"hidepid=2", "plugstack.conf: egret.so argument 'hidepid=2': must be yes or no"},
        BadArg{"group_prefix=a/b", "plugstack.conf: egret.so argument 'group_prefix=a/b': may "
                                   "hold only letters, digits, '_', '-' and '.'"}));

TEST(PluginConfig, RootsMustNotNest) {
  auto c = ParseConfig({"tenants_root=/srv/e", "job_root=/srv/e/jobs"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), "plugstack.conf: egret.so: tenants_root /srv/e and job_root "
                                 "/srv/e/jobs must not contain one another");
}

}  // namespace
}  // namespace egret::plugin
