// A job of tenant acme (alice) cannot list or read tenant globex's (bob's) data, models or
// checkpoints: not by path, "..", symlinks, /proc/<pid>/root of globex's running job or of
// init, nor through /tmp or /dev/shm left-overs. Its /tmp and /dev/shm start empty and are
// gone after; its environment names no other tenant's path and no credential.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/plugin/plugin_cluster.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = RunningPluginConfig();
    ASSERT_TRUE(c.ok()) << c.error().message();
    cfg_ = *c;
    R_ = cfg_.tenants_root;
    SeedTenant(cfg_, "acme");
    SeedTenant(cfg_, "globex");
    node_ = FirstNode();
    ASSERT_FALSE(node_.empty());
  }

  // The shell helper every probe uses: "denied=PATH:REASON" or "leak=PATH:CONTENT".
  std::string Probe(const std::string& body) const {
    return "#!/bin/bash\nR=" + R_ + "\n"
           "try() { if out=$(cat \"$1\" 2>&1); then echo \"leak=$1:$out\"; "
           "else echo \"denied=$1:${out##*: }\"; fi; }\n" + body + "\necho done=1\n";
  }

  static void ExpectNoLeak(const JobRun& r) {
    EXPECT_EQ(r.info.state, "COMPLETED") << r.output << r.submit_err;
    EXPECT_EQ(r.facts.count("done"), 1u) << r.output;
    for (const auto& line : Split(r.output, '\n'))
      EXPECT_NE(line.rfind("leak", 0), 0u) << line;
  }

  plugin::Config cfg_;
  std::string R_, node_;
};

TEST_F(Isolation, AJobSeesOnlyItsOwnTenant) {
  // An admin-made symlink inside acme's data pointing at globex's resolves inside the job's
  // view, where globex does not exist.
  fs::remove(R_ + "/acme/data/planted-link");
  fs::create_symlink(R_ + "/globex/data", R_ + "/acme/data/planted-link");
  JobRun r = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node_},
                    Probe("echo \"list=$(ls -A $R | tr '\\n' ' ')\"\n"
                          "echo \"own=$(cat $R/acme/data/secret.txt)\"\n"
                          "echo \"own_adapter=$(cat $R/acme/checkpoints/adapter.safetensors)\"\n"
                          "echo \"own_model=$(cat $R/acme/models/model.txt)\"\n"
                          "try $R/globex/data/secret.txt\n"
                          "try $R/globex/models/model.txt\n"
                          "try $R/globex/checkpoints/adapter.safetensors\n"
                          "try $R/acme/../globex/data/secret.txt\n"
                          "cd $R/acme && try ../globex/data/secret.txt && cd /\n"
                          "try $R/acme/data/planted-link/secret.txt\n"
                          "ln -s $R/globex/checkpoints /tmp/mylink && try /tmp/mylink/adapter.safetensors\n"
                          "try /proc/self/root$R/globex/data/secret.txt\n"
                          "try /proc/1/root$R/globex/data/secret.txt\n"
                          "ls $R/globex >/dev/null 2>&1 && echo leak=listing-globex\n"
                          "ls /proc/1/root$R >/dev/null 2>&1 && echo leak=listing-host-store\n"
                          "mkdir $R/globex 2>/dev/null && echo leak=created-in-cover\n"));
  ExpectNoLeak(r);
  EXPECT_EQ(r.facts["list"], "acme ");
  EXPECT_EQ(r.facts["own"], "acme data");
  EXPECT_EQ(r.facts["own_adapter"], "acme adapter");
  EXPECT_EQ(r.facts["own_model"], "acme model");
  for (const std::string& p :
       {R_ + "/globex/data/secret.txt", R_ + "/globex/models/model.txt",
        R_ + "/globex/checkpoints/adapter.safetensors", R_ + "/acme/../globex/data/secret.txt",
        std::string("../globex/data/secret.txt"), R_ + "/acme/data/planted-link/secret.txt",
        std::string("/tmp/mylink/adapter.safetensors"),
        "/proc/self/root" + R_ + "/globex/data/secret.txt",
        "/proc/1/root" + R_ + "/globex/data/secret.txt"})
    EXPECT_NE(r.output.find("denied=" + p + ":"), std::string::npos) << p << "\n" << r.output;
  fs::remove(R_ + "/acme/data/planted-link");
}

TEST_F(Isolation, AJobWithoutTenantSeesNoTenant) {
  JobRun r = RunJob("alice", {"-p", "cpu", "-w", node_},
                    Probe("echo \"list=$(ls -A $R | tr '\\n' ' ')\"\n"
                          "echo \"tenant=${EGRET_TENANT-unset}\"\n"
                          "try $R/acme/data/secret.txt\n"));
  ExpectNoLeak(r);
  EXPECT_EQ(r.facts["list"], "");
  EXPECT_EQ(r.facts["tenant"], "unset");
}

// Bob's globex job runs on the node; alice's acme job knows its pid and tries to go through
// /proc/<pid>/root into globex's namespace. With hidepid=2 (default) the process is
// invisible; without it the kernel's ptrace check (another user) still refuses.
void ProcRootOfAnotherJob(Isolation* t, const std::string& node, const std::string& R,
                          const std::string& expected_reason) {
  std::string dir = MakeJobDir("plugin-procroot");
  std::string pidfile = dir + "/bob.pid";
  Submission bob = Submit("bob", {"-A", "globex", "-p", "cpu", "-w", node},
                          "#!/bin/bash\necho $$ > " + pidfile + "\nsleep 60\n", dir + "/bob.txt");
  ASSERT_GT(bob.job_id, 0) << bob.err;
  for (int i = 0; i < 200 && ReadText(pidfile).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string pid(Trim(ReadText(pidfile)));
  ASSERT_FALSE(pid.empty()) << ReadText(dir + "/bob.txt");
  // The host sees bob's process and what its namespace holds.
  ASSERT_TRUE(fs::exists("/proc/" + pid + "/root" + R + "/globex/data/secret.txt"));
  std::string p = "/proc/" + pid;
  JobRun r = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node},
                    "#!/bin/bash\n"
                    "try() { if out=$(cat \"$1\" 2>&1); then echo \"leak=$1:$out\"; "
                    "else echo \"denied=$1:${out##*: }\"; fi; }\n"
                    "try " + p + "/root" + R + "/globex/data/secret.txt\n"
                    "try " + p + "/root" + R + "/globex/checkpoints/adapter.safetensors\n"
                    "try " + p + "/environ\n"
                    "ls " + p + "/cwd/ >/dev/null 2>&1 && echo leak=cwd\n"
                    "echo \"bob_visible=$(ps -eo user= | grep -c '^bob')\"\n"
                    "echo done=1\n");
  (void)RunProcess({"scancel", std::to_string(bob.job_id)});
  EXPECT_EQ(r.info.state, "COMPLETED") << r.output;
  for (const auto& line : Split(r.output, '\n')) EXPECT_NE(line.rfind("leak", 0), 0u) << line;
  EXPECT_NE(r.output.find("denied=" + p + "/root" + R + "/globex/data/secret.txt:" +
                          expected_reason),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("denied=" + p + "/environ:" + expected_reason), std::string::npos)
      << r.output;
  if (expected_reason == "No such file or directory") {
    EXPECT_EQ(r.facts["bob_visible"], "0");
  }
  WaitForJob(bob.job_id, 30);
  (void)t;
}

TEST_F(Isolation, ProcRootOfAnotherTenantsJobIsInvisible) {
  ProcRootOfAnotherJob(this, node_, R_, "No such file or directory");
}

TEST_F(Isolation, ProcRootOfAnotherTenantsJobIsRefusedEvenWithoutHidepid) {
  const std::string conf = "/etc/slurm/plugstack.conf.d/egret.conf";
  std::string saved = ReadText(conf);
  std::string changed = saved;
  auto nl = changed.rfind("egret.so");
  ASSERT_NE(nl, std::string::npos);
  auto end = changed.find('\n', nl);
  changed.insert(end == std::string::npos ? changed.size() : end, " hidepid=no");
  std::ofstream(conf) << changed;  // srun/sbatch/slurmstepd re-read it for each new step
  ProcRootOfAnotherJob(this, node_, R_, "Permission denied");
  std::ofstream(conf) << saved;
}

TEST_F(Isolation, PrivateTmpAndShmStartEmptyAndAreGoneAfter) {
  std::string body =
      "echo \"tmp=$(ls -A /tmp | tr '\\n' ' ')\"\n"
      "echo \"shm=$(ls -A /dev/shm | tr '\\n' ' ')\"\n"
      "echo \"vartmp=$(ls -A /var/tmp | tr '\\n' ' ')\"\n"
      "echo \"tmp_mode=$(stat -c '%U %a' /tmp)\"\n"
      "echo secret-$SLURM_JOB_ID > /tmp/leftover-$SLURM_JOB_ID\n"
      "echo secret-$SLURM_JOB_ID > /dev/shm/leftover-$SLURM_JOB_ID\n"
      "echo \"shared=$(srun -n1 cat /tmp/leftover-$SLURM_JOB_ID)\"\n";
  JobRun a = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node_, "-n2"}, Probe(body));
  ExpectNoLeak(a);
  EXPECT_EQ(a.facts["tmp"], "");
  EXPECT_EQ(a.facts["shm"], "");
  EXPECT_EQ(a.facts["vartmp"], "");
  EXPECT_EQ(a.facts["tmp_mode"], "alice 700");
  // Steps of one job share its /tmp on a node.
  EXPECT_EQ(a.facts["shared"], "secret-" + std::to_string(a.job_id));
  // The epilog removes the job's directories once the job has ended.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = JobDirsOf(cfg_.job_root, a.job_id).empty() && JobDirsOf(cfg_.shm_root, a.job_id).empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << cfg_.job_root << " still holds job " << a.job_id;

  // Bob's job on the same node afterwards: nothing of alice's, anywhere it can look.
  JobRun b = RunJob("bob", {"-A", "globex", "-p", "cpu", "-w", node_},
                    Probe("echo \"tmp=$(ls -A /tmp | tr '\\n' ' ')\"\n"
                          "echo \"shm=$(ls -A /dev/shm | tr '\\n' ' ')\"\n"
                          "try /tmp/leftover-" + std::to_string(a.job_id) + "\n"
                          "try /dev/shm/leftover-" + std::to_string(a.job_id) + "\n"
                          "try " + cfg_.job_root + "\n"
                          "ls " + cfg_.job_root + " >/dev/null 2>&1 && echo leak=job-root\n"));
  ExpectNoLeak(b);
  EXPECT_EQ(b.facts["tmp"], "");
  EXPECT_EQ(b.facts["shm"], "");
}

TEST_F(Isolation, EnvironmentHoldsNoOtherTenantsPathsNorCredentials) {
  JobRun r = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node_},
                    "#!/bin/bash\nenv\necho done=1\n", 60,
                    {"GLOBEX_DATA=" + R_ + "/globex/data", "MIXED=/usr/bin:" + R_ + "/globex/bin",
                     "SNEAKY=" + R_ + "/acme/../globex", "HF_TOKEN=hf_secret",
                     "AWS_SECRET_ACCESS_KEY=aws_secret", "EGRET_TENANT=globex",
                     "EGRET_DATA_DIR=" + R_ + "/globex/data", "OWN=" + R_ + "/acme/data",
                     "KEEP_ME=hello"});
  ASSERT_EQ(r.info.state, "COMPLETED") << r.output << r.submit_err;
  EXPECT_EQ(r.output.find(R_ + "/globex"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("globex"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hf_secret"), std::string::npos);
  EXPECT_EQ(r.output.find("aws_secret"), std::string::npos);
  EXPECT_EQ(r.facts["EGRET_TENANT"], "acme");
  EXPECT_EQ(r.facts["EGRET_DATA_DIR"], R_ + "/acme/data");
  EXPECT_EQ(r.facts["EGRET_MODELS_DIR"], R_ + "/acme/models");
  EXPECT_EQ(r.facts["EGRET_CKPT_DIR"], R_ + "/acme/checkpoints");
  EXPECT_EQ(r.facts["OWN"], R_ + "/acme/data");
  EXPECT_EQ(r.facts["KEEP_ME"], "hello");
}

TEST_F(Isolation, DataAndModelsAreReadOnlyCheckpointsWritable) {
  fs::remove(R_ + "/acme/checkpoints/from-job.txt");
  JobRun r = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node_},
                    "#!/bin/bash\n"
                    "touch $EGRET_DATA_DIR/x 2>&1 | sed 's/.*: /data=/'\n"
                    "touch $EGRET_MODELS_DIR/x 2>&1 | sed 's/.*: /models=/'\n"
                    "echo written > $EGRET_CKPT_DIR/from-job.txt && echo ckpt=ok\n");
  ASSERT_EQ(r.info.state, "COMPLETED") << r.output;
  EXPECT_EQ(r.facts["data"], "Read-only file system");
  EXPECT_EQ(r.facts["models"], "Read-only file system");
  EXPECT_EQ(r.facts["ckpt"], "ok");
  EXPECT_EQ(ReadText(R_ + "/acme/checkpoints/from-job.txt"), "written\n");
  struct stat st;
  ASSERT_EQ(::stat((R_ + "/acme/checkpoints/from-job.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, static_cast<uid_t>(std::stoul(
                           std::string(Trim(RunProcess({"id", "-u", "alice"})->out)))));
}

// A tenant's first job creates its directories. With a Unix group egret-<tenant> (globex
// has one, see tests/fixtures/users) they belong to it and are closed to others (0750; data
// 2750, checkpoints 2770); the group's members work in them as usual.
TEST_F(Isolation, TenantDirectoriesAreCreatedForTheTenantGroup) {
  const std::string group = cfg_.group_prefix + "globex";
  ASSERT_EQ(RunProcess({"getent", "group", group})->exit_code, 0)
      << "tests/fixtures/users creates group " << group;
  fs::remove_all(R_ + "/globex");
  JobRun r = RunJob("bob", {"-A", "globex", "-p", "cpu", "-w", node_},
                    "#!/bin/bash\necho \"groups=$(id -Gn)\"\n"
                    "echo \"data=$(ls -A $EGRET_DATA_DIR | wc -l)\"\n"
                    "echo mine > $EGRET_CKPT_DIR/adapter.safetensors && echo ckpt=ok\n");
  auto owner_mode = [&](const std::string& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::string("missing");
    auto g = RunProcess({"getent", "group", std::to_string(st.st_gid)});
    std::string name = g.ok() ? Split(std::string(Trim(g->out)), ':')[0] : "?";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", st.st_mode & 07777);
    return std::to_string(st.st_uid) + ":" + name + " " + buf;
  };
  ASSERT_EQ(r.info.state, "COMPLETED") << r.output;
  EXPECT_NE(r.facts["groups"].find(group), std::string::npos) << r.facts["groups"];
  EXPECT_EQ(r.facts["data"], "0");
  EXPECT_EQ(r.facts["ckpt"], "ok");
  EXPECT_EQ(owner_mode(R_ + "/globex"), "0:" + group + " 0750");
  EXPECT_EQ(owner_mode(R_ + "/globex/data"), "0:" + group + " 2750");
  EXPECT_EQ(owner_mode(R_ + "/globex/models"), "0:" + group + " 2750");
  EXPECT_EQ(owner_mode(R_ + "/globex/checkpoints"), "0:" + group + " 2770");
  // acme has no group: root-owned, open by mode (only acme's jobs ever see them).
  fs::remove_all(R_ + "/acme");
  JobRun a = RunJob("alice", {"-A", "acme", "-p", "cpu", "-w", node_}, "#!/bin/bash\ntrue\n");
  ASSERT_EQ(a.info.state, "COMPLETED") << a.output;
  EXPECT_EQ(owner_mode(R_ + "/acme"), "0:root 0755");
  EXPECT_EQ(owner_mode(R_ + "/acme/data"), "0:root 0755");
  EXPECT_EQ(owner_mode(R_ + "/acme/checkpoints"), "0:root 1777");
}

}  // namespace
}  // namespace egret::testing
