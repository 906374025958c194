#include "tests/finetune/support.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "mpi_trainer/h5/h5.h"
#include "tests/finetune/tiny_model.h"

namespace egret::testing {
namespace fs = std::filesystem;

std::string Bin(const std::string& name) { return std::string(EGRET_BUILD_DIR) + "/bin/" + name; }
std::string SourcePath(const std::string& rel) { return std::string(EGRET_SOURCE_DIR) + "/" + rel; }

std::vector<std::string> MpirunEnv() {
  return {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_rmaps_base_oversubscribe=1",
          "OMPI_MCA_mpi_yield_when_idle=1", "OMPI_MCA_hwloc_base_binding_policy=none",
          "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"};
}

namespace {
std::vector<std::string> TrainArgv(const std::vector<std::string>& args, int np) {
  std::vector<std::string> argv;
  if (np > 1) argv = {"mpirun", "-np", std::to_string(np)};
  argv.push_back(Bin("egret-train"));
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
}  // namespace

ProcessResult RunTrain(const std::vector<std::string>& args, int np, double timeout_s) {
  ProcessOptions o;
  o.env = MpirunEnv();
  o.timeout_s = timeout_s;
  auto r = RunProcess(TrainArgv(args, np), o);
  if (!r.ok()) return ProcessResult{-1, false, "", r.error().message()};
  return *r;
}

ProcessResult RunData(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {Bin("egret-data")};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.timeout_s = 120;
  auto r = RunProcess(argv, o);
  if (!r.ok()) return ProcessResult{-1, false, "", r.error().message()};
  return *r;
}

pid_t SpawnTrain(const std::vector<std::string>& args, int np, const std::string& log) {
  std::vector<std::string> argv = TrainArgv(args, np);
  std::vector<std::string> env = MpirunEnv();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  std::string base = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& t : fs::directory_iterator(base, ec)) {
    std::ifstream in(t.path() / "children");
    pid_t c;
    while (in >> c) out.push_back(c);
  }
  return out;
}

std::vector<nlohmann::json> ReadJsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!Trim(line).empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> TrainRecords(const std::string& metrics_path) {
  std::vector<nlohmann::json> out;
  for (auto& j : ReadJsonl(metrics_path))
    if (j.value("type", "") == "train") out.push_back(j);
  return out;
}

std::map<std::string, std::vector<float>> ReadCheckpointGroup(const std::string& path, const std::string& group) {
  std::map<std::string, std::vector<float>> out;
  auto f = h5::File::Open(path);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message());
  if (!f.ok()) return out;
  auto g = f->OpenGroup(group);
  EXPECT_TRUE(g.ok());
  if (!g.ok()) return out;
  auto names = g->Children();
  if (!names.ok()) return out;
  for (const auto& name : names.value()) {
    auto v = g->Read<float>(name);
    if (v.ok()) out[name] = std::move(v).value();
  }
  return out;
}

std::map<std::string, int64_t> ReadCheckpointState(const std::string& path) {
  std::map<std::string, int64_t> out;
  auto f = h5::File::Open(path);
  if (!f.ok()) return out;
  auto s = f->OpenGroup("state");
  for (const char* k : {"step", "total_steps", "rows_consumed", "tokens_seen", "adam_step"}) out[k] = *s->IntAttr(k);
  auto r = f->OpenGroup("rng");
  for (const char* k : {"data_order_seed", "data_order_epoch", "dropout_seed", "dropout_counter"}) out[k] = *r->IntAttr(k);
  return out;
}

double MaxRelDiff(const std::map<std::string, std::vector<float>>& a,
                  const std::map<std::string, std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, x] : a) {
    auto it = b.find(name);
    EXPECT_NE(it, b.end()) << name;
    if (it == b.end() || it->second.size() != x.size()) return INFINITY;
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < x.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(x[i] - it->second[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(x[i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

double GlobalRelL2Diff(const std::map<std::string, std::vector<float>>& a,
                       const std::map<std::string, std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, norm = 0;
  for (const auto& [name, x] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.size() != x.size()) return INFINITY;
    for (size_t i = 0; i < x.size(); ++i) {
      double d = static_cast<double>(x[i]) - static_cast<double>(it->second[i]);
      diff += d * d;
      norm += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
  }
  return std::sqrt(diff / norm);
}

double MaxRelL2Diff(const std::map<std::string, std::vector<float>>& a,
                    const std::map<std::string, std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, x] : a) {
    auto it = b.find(name);
    EXPECT_NE(it, b.end()) << name;
    if (it == b.end() || it->second.size() != x.size()) return INFINITY;
    double diff = 0, norm = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      double d = static_cast<double>(x[i]) - static_cast<double>(it->second[i]);
      diff += d * d;
      norm += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
    worst = std::max(worst, norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff));
  }
  return worst;
}

std::vector<std::string> AlphabetLines(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string a = "abcdefghijklmnopqrstuvwxyz";
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    size_t start = rng() % 26, len = 8 + rng() % 30;
    std::string s;
    for (size_t k = 0; k < len; ++k) s += a[(start + k) % 26];
    out.push_back("{\"text\": \"" + s + "\"}");
  }
  return out;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
}

TinyJob MakeTinyJob(const std::string& name, int lines, int seq_len) {
  TinyJob j;
  j.dir = FreshDir(name);
  j.model = j.dir + "/model";
  j.train = j.dir + "/train.h5";
  j.eval = j.dir + "/eval.h5";
  j.job = j.dir + "/job.toml";
  j.out = j.dir + "/out";
  auto st = WriteTinyModel(j.model);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
  WriteLines(j.dir + "/data.jsonl", AlphabetLines(lines, 7));
  auto r = RunData({"import", "--tokenizer", j.model, "--input", j.dir + "/data.jsonl", "--output", j.train,
                    "--eval-output", j.eval, "--eval-fraction", "0.2", "--seq-len", std::to_string(seq_len), "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(j.job) << R"(version = 1
[model]
path = "model"
[data]
train = "train.h5"
[output]
dir = "out"
plot = false
[train]
mode = "lora"
seed = 3
steps = 12
micro_batch_size = 2
global_batch_size = 8
max_grad_norm = 1.0
[lora]
r = 4
alpha = 8
dropout = 0.1
target_modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
[optimizer]
lr = 1e-2
weight_decay = 0.01
[schedule]
kind = "cosine"
warmup_steps = 2
min_lr = 1e-4
[checkpoint]
every_steps = 4
keep_last = 2
)";
  return j;
}

}  // namespace egret::testing
