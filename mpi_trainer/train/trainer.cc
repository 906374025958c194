#include "mpi_trainer/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "mpi_trainer/checkpoint/checkpoint.h"
#include "mpi_trainer/data/sha256.h"
#include "mpi_trainer/eval/evaluate.h"
#include "mpi_trainer/h5/h5.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/train/data_order.h"
#include "mpi_trainer/train/export.h"
#include "mpi_trainer/train/grads.h"
#include "mpi_trainer/train/job_model.h"
#include "mpi_trainer/train/metrics.h"
#include "mpi_trainer/train/preempt.h"
#include "mpi_trainer/train/schedule.h"

namespace egret::train {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Every rank learns whether any rank failed; a failed rank keeps its own message.
Status Agree(trainer::Communicator& comm, const Status& local) {
  bool any = comm.AnyTrue(!local.ok());
  if (!local.ok()) return local;
  if (any) return Error("stopped because another rank failed (its message is in the job output)");
  return Ok();
}

// Rank 0's status, on every rank (the others get kReportedByRankZero, so it is printed once).
Status FromRoot(trainer::Communicator& comm, const Status& st) {
  int64_t len = comm.rank() == 0 ? (st.ok() ? -1 : static_cast<int64_t>(st.error().message().size())) : 0;
  comm.Broadcast(&len, sizeof len, 0);
  if (len < 0) return Ok();
  std::string msg = comm.rank() == 0 ? st.error().message() : std::string(static_cast<size_t>(len), '\0');
  comm.Broadcast(msg.data(), msg.size(), 0);
  return Error(comm.rank() == 0 ? msg : kReportedByRankZero);
}

struct Run {
  Run(const JobConfig& config, const FinetuneOptions& options, trainer::Communicator& world)
      : c(config), o(options), comm(world) {}
  const JobConfig& c;
  const FinetuneOptions& o;
  trainer::Communicator& comm;
  std::unique_ptr<trainer::Model> model;
  std::unique_ptr<trainer::AdamW> opt;
  JobData data;
  std::unique_ptr<data::DatasetReader> eval_set;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  BatchPlan plan;
  ckpt::Identity identity;
  ckpt::State state;
  std::optional<MetricsLog> metrics;
  std::string last_checkpoint;
  int64_t last_checkpoint_step = -1, last_eval_step = -1;
  double last_grad_norm = 0;
  TreeSum tree{0};
  bool dumped_gradients = false;
  Status DumpGradients(const std::string& path);

  bool root() const { return comm.rank() == 0; }

  Status Setup();
  Status Resume();
  Result<bool> Step(DataOrder& order, int stop_signal);  // false: a rank was asked to stop
  std::string stopped_by;  // the signal that stopped the run
  Status Checkpoint();
  Status Evaluate();
  void Log(const nlohmann::json& j) {
    if (!metrics) return;
    auto st = metrics->Append(j);
    if (!st.ok()) std::fprintf(stderr, "egret-train: warning: %s\n", st.error().message().c_str());
  }
};

Status Run::Setup() {
  trainer::SetNumThreads(o.threads > 0 ? o.threads : std::max(1, trainer::CoreCount() / std::max(1, comm.LocalSize())));
  auto local = [&]() -> Status {
    EGRET_ASSIGN_OR_RETURN(model, BuildJobModel(c));
    EGRET_ASSIGN_OR_RETURN(data, OpenJobData(c.datasets, *model, c.model_path));
    if (!c.eval.dataset.empty()) {
      EGRET_ASSIGN_OR_RETURN(eval_set, data::DatasetReader::Open(c.eval.dataset));
      EGRET_TRY(CheckDatasetForModel(*eval_set, *model, c.model_path));
    }
    if (!c.eval.exact_match.empty()) {
      EGRET_ASSIGN_OR_RETURN(auto t, tokenizer::Tokenizer::Load(c.model_path));
      tok = std::make_unique<tokenizer::Tokenizer>(std::move(t));
    }
    EGRET_ASSIGN_OR_RETURN(plan, PlanBatches(c, comm.size()));
    EGRET_ASSIGN_OR_RETURN(identity.model_fingerprint, JobModelFingerprint(c));
    return Ok();
  }();
  EGRET_TRY(Agree(comm, local));

  trainer::AdamWConfig ac;
  ac.beta1 = static_cast<float>(c.optimizer.beta1);
  ac.beta2 = static_cast<float>(c.optimizer.beta2);
  ac.eps = static_cast<float>(c.optimizer.eps);
  ac.weight_decay = static_cast<float>(c.optimizer.weight_decay);
  opt = std::make_unique<trainer::AdamW>(model->params(), ac);
  tree = TreeSum(GradientRuns(model->params()).floats());

  identity.model_path = c.model_path;
  identity.mode = ModeName(c.mode);
  identity.trajectory = TrajectorySettings(c, plan);
  identity.datasets = data.fingerprints;
  state.total_steps = c.steps > 0 ? c.steps
                                  : static_cast<int64_t>(std::ceil(c.epochs * static_cast<double>(data.rows) /
                                                                   static_cast<double>(plan.global_batch_size)));
  state.data_order_seed = static_cast<uint64_t>(c.seed);
  state.dropout_seed = static_cast<uint64_t>(c.seed);
  return Ok();
}

Status Run::Resume() {
  // Rank 0 decides which checkpoint (if any), reads it and sends it to the others.
  std::string path;
  Status st = Ok();
  if (root()) {
    auto latest = ckpt::FindLatest(c.checkpoint.dir);
    if (!latest.ok()) st = latest.error();
    else if (o.resume.empty()) {
      if (!latest->empty())
        st = Error(c.checkpoint.dir + " already holds checkpoints (newest " + *latest +
                   "); continue that run with --resume auto, or set another output.dir");
    } else if (o.resume == "auto") {
      path = *latest;
    } else {
      path = o.resume;
    }
  }
  EGRET_TRY(FromRoot(comm, st));
  int64_t resuming = root() ? !path.empty() : 0;
  comm.Broadcast(&resuming, sizeof resuming, 0);
  if (!resuming) return Ok();

  ckpt::TensorGroups t = TrainableTensors(*model, *opt);
  if (root()) {
    auto s = ckpt::Read(path, identity, t);
    if (s.ok()) {
      int64_t total = state.total_steps;
      state = *s;
      state.total_steps = total;
      if (state.data_order_seed != static_cast<uint64_t>(c.seed) || state.dropout_seed != static_cast<uint64_t>(c.seed))
        st = Error(path + ": random streams were seeded differently (train.seed)");
    } else {
      st = s.error();
    }
  }
  EGRET_TRY(FromRoot(comm, st));
  comm.Broadcast(&state, sizeof state, 0);
  for (auto* list : {&t.params, &t.adam_m, &t.adam_v})
    for (auto& x : *list) {
      size_t n = 1;
      for (int64_t d : x.shape) n *= static_cast<size_t>(d);
      comm.Broadcast(x.data, n * sizeof(float), 0);
    }
  opt->set_step(state.adam_step);
  model->set_dropout_counter(state.dropout_counter);
  last_checkpoint = path;
  last_checkpoint_step = state.step;
  if (root() && o.progress) std::printf("resumed from %s at step %lld\n", path.c_str(), static_cast<long long>(state.step));
  return Ok();
}

Result<bool> Run::Step(DataOrder& order, int stop_signal) {
  const int64_t A = plan.grad_accum, M = plan.micro_batch_size, G = plan.global_batch_size;
  const int64_t micro_per_step = G / M;
  Status local = Ok();
  std::vector<trainer::Batch> batches;
  int64_t targets = 0;
  for (int64_t m = 0; m < A && local.ok(); ++m) {
    std::vector<data::Row> rows(static_cast<size_t>(M));
    for (int64_t i = 0; i < M && local.ok(); ++i) {
      int64_t pos = state.rows_consumed + (comm.rank() * A + m) * M + i;
      local = data.ReadRow(order.RowAt(pos), &rows[static_cast<size_t>(i)]);
    }
    if (!local.ok()) break;
    batches.push_back(MakeBatch(rows));
    targets += batches.back().CountTargets();
  }
  // One all-reduce: global target count, failures, ranks asked to stop by SIGTERM / SIGUSR1.
  int64_t counts[4] = {targets, local.ok() ? 0 : 1, stop_signal == SIGTERM, stop_signal == SIGUSR1};
  comm.AllReduceSum(counts, 4);
  if (!local.ok()) return local.error();
  if (counts[1] > 0) return Error("stopped because another rank failed (its message is in the job output)");
  if (counts[2] + counts[3] > 0) {
    stopped_by = counts[2] > 0 ? "SIGTERM" : "SIGUSR1";
    return false;
  }

  const int64_t global_targets = counts[0];
  const float scale = global_targets > 0 ? 1.0f / static_cast<float>(global_targets) : 0.0f;
  auto& ps = model->params();
  GradientRuns runs(ps);
  double sums[2] = {0, 0};  // loss sum, failures
  for (int64_t m = 0; m < static_cast<int64_t>(batches.size()) && local.ok(); ++m) {
    ps.ZeroGrads();
    // Dropout draws depend on the micro-batch's place in the global batch, not on the rank
    // that runs it, so any rank count gives the same masks.
    model->set_dropout_counter(static_cast<uint64_t>(state.step * micro_per_step + comm.rank() * A + m));
    auto s = model->ForwardBackward(batches[static_cast<size_t>(m)], scale);
    if (!s.ok()) local = s.error();
    else sums[0] += s->loss_sum;
    if (A > 1) tree.Push(runs);
  }
  if (A > 1) tree.Finish(runs);
  if (!local.ok() || batches.empty()) ps.ZeroGrads();
  sums[1] = local.ok() ? 0 : 1;
  runs.AllReduce(comm);
  comm.AllReduceSum(sums, 2);
  if (!local.ok()) return local.error();
  if (sums[1] > 0) return Error("stopped because another rank failed (its message is in the job output)");

  if (!o.dump_gradients.empty() && !dumped_gradients) {
    dumped_gradients = true;
    Status st = root() ? DumpGradients(o.dump_gradients) : Ok();
    EGRET_TRY(FromRoot(comm, st));
  }
  double norm = runs.Norm();
  if (c.max_grad_norm > 0) {
    // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1.
    double coef = c.max_grad_norm / (norm + 1e-6);
    if (coef < 1.0) runs.Scale(static_cast<float>(coef));
  }
  double lr = LearningRate(c.schedule, c.optimizer.lr, state.step + 1, state.total_steps);
  opt->Step(static_cast<float>(lr));

  ++state.step;
  state.rows_consumed += G;
  state.tokens_seen += global_targets;
  state.adam_step = opt->step();
  state.data_order_epoch = state.rows_consumed / data.rows;
  state.dropout_counter = static_cast<uint64_t>(state.step * micro_per_step);
  state.last_lr = lr;
  state.last_loss = global_targets > 0 ? sums[0] / static_cast<double>(global_targets) : 0;
  model->set_dropout_counter(state.dropout_counter);
  last_grad_norm = norm;
  return true;
}

Status Run::DumpGradients(const std::string& path) {
  EGRET_ASSIGN_OR_RETURN(h5::File f, h5::File::Create(path));
  EGRET_ASSIGN_OR_RETURN(h5::Group g, f.CreateGroup("grads"));
  auto& ps = model->params();
  for (int i = 0; i < ps.count(); ++i) {
    const auto& info = ps.info(i);
    if (!info.trainable) continue;
    EGRET_TRY(g.Write(info.name, ps.grad(i), std::vector<uint64_t>(info.shape.begin(), info.shape.end())));
  }
  EGRET_TRY(f.SetAttr("step", state.step + 1));
  return f.Close();
}

Status Run::Checkpoint() {
  if (last_checkpoint_step == state.step) return Ok();
  Status st = Ok();
  if (root()) {
    auto path = ckpt::Write(c.checkpoint.dir, identity, state, TrainableTensors(*model, *opt), c.checkpoint.keep_last);
    if (path.ok()) last_checkpoint = *path;
    else st = path.error();
  }
  EGRET_TRY(FromRoot(comm, st));
  last_checkpoint_step = state.step;
  if (root()) Log({{"type", "checkpoint"}, {"step", state.step}, {"path", last_checkpoint}});
  return Ok();
}

Status Run::Evaluate() {
  if (last_eval_step == state.step || (!eval_set && !tok)) return Ok();
  last_eval_step = state.step;
  nlohmann::json rec = {{"type", "eval"}, {"step", state.step}};
  if (eval_set) {
    EGRET_ASSIGN_OR_RETURN(auto r, eval::EvalLoss(*model, *eval_set, comm, static_cast<int>(plan.micro_batch_size)));
    rec["eval_loss"] = r.loss;
    rec["perplexity"] = r.perplexity;
    rec["eval_tokens"] = r.tokens;
  }
  if (tok) {
    eval::ExactMatchOptions eo;
    eo.max_new_tokens = static_cast<int>(c.eval.max_new_tokens);
    eo.chat = c.eval.chat;
    EGRET_ASSIGN_OR_RETURN(auto r, eval::EvalExactMatch(*model, *tok, c.eval.exact_match, eo, comm));
    rec["exact_match"] = r.accuracy;
    rec["exact_match_correct"] = r.correct;
    rec["exact_match_total"] = r.total;
  }
  if (root()) {
    Log(rec);
    if (o.progress) std::printf("eval %s\n", rec.dump().c_str());
  }
  return Ok();
}

}  // namespace

Result<FinetuneOutcome> RunFinetune(const JobConfig& config, const FinetuneOptions& options,
                                    trainer::Communicator& comm) {
  InstallStopHandlers();
  Run run(config, options, comm);
  EGRET_TRY(run.Setup());
  EGRET_TRY(run.Resume());
  const bool root = comm.rank() == 0;
  if (root) {
    auto m = MetricsLog::Open(config.metrics_path, run.state.step);
    if (!m.ok()) std::fprintf(stderr, "egret-train: warning: %s (no metrics)\n", m.error().message().c_str());
    else run.metrics.emplace(std::move(m).value());
    run.Log({{"type", "start"},
             {"step", run.state.step},
             {"total_steps", run.state.total_steps},
             {"ranks", comm.size()},
             {"global_batch_size", run.plan.global_batch_size},
             {"micro_batch_size", run.plan.micro_batch_size},
             {"grad_accum", run.plan.grad_accum},
             {"seq_len", run.data.seq_len},
             {"rows", run.data.rows},
             {"trainable_params", run.model->params().CountParams(true)},
             {"resumed_from", run.last_checkpoint}});
    if (options.progress)
      std::printf("finetune: %s, %lld trainable parameters, %d rank(s) x %lld micro x %lld accum = %lld rows/step, "
                  "%lld steps\n",
                  ModeName(config.mode), static_cast<long long>(run.model->params().CountParams(true)), comm.size(),
                  static_cast<long long>(run.plan.micro_batch_size), static_cast<long long>(run.plan.grad_accum),
                  static_cast<long long>(run.plan.global_batch_size), static_cast<long long>(run.state.total_steps));
  }

  DataOrder order(run.data.rows, static_cast<uint64_t>(config.seed));
  const double tokens_per_step = static_cast<double>(run.plan.global_batch_size * run.data.seq_len);
  double ema_step_s = 0;
  bool preempted = false;
  auto t_start = Clock::now();
  while (run.state.step < run.state.total_steps) {
    auto t0 = Clock::now();
    EGRET_ASSIGN_OR_RETURN(bool stepped, run.Step(order, StopSignal()));
    if (!stepped) {
      preempted = true;
      break;
    }
    double dt = Seconds(t0, Clock::now());
    ema_step_s = ema_step_s == 0 ? dt : 0.9 * ema_step_s + 0.1 * dt;
    const auto& s = run.state;
    if (root) {
      run.Log({{"type", "train"},
               {"step", s.step},
               {"loss", s.last_loss},
               {"lr", s.last_lr},
               {"grad_norm", run.last_grad_norm},
               {"tokens", s.tokens_seen},
               {"epoch", static_cast<double>(s.rows_consumed) / static_cast<double>(run.data.rows)},
               {"tokens_per_s", tokens_per_step / dt},
               {"step_s", dt},
               {"elapsed_s", Seconds(t_start, Clock::now())}});
      if (options.progress && (s.step % config.log_every_steps == 0 || s.step == s.total_steps)) {
        std::printf("%s\n", ProgressLine(s.step, s.total_steps, s.last_loss, s.last_lr, tokens_per_step / dt,
                                         ema_step_s * static_cast<double>(s.total_steps - s.step))
                                .c_str());
        std::fflush(stdout);
      }
      if (options.after_step) options.after_step(s.step);
    }
    if (config.checkpoint.every_steps > 0 && s.step % config.checkpoint.every_steps == 0 && s.step < s.total_steps)
      EGRET_TRY(run.Checkpoint());
    if (config.eval.every_steps > 0 && s.step % config.eval.every_steps == 0 && s.step < s.total_steps)
      EGRET_TRY(run.Evaluate());
  }

  FinetuneOutcome out;
  EGRET_TRY(run.Checkpoint());
  out.step = run.state.step;
  out.checkpoint = run.last_checkpoint;
  if (preempted) {
    out.preempted = true;
    if (root) {
      run.Log({{"type", "end"}, {"step", run.state.step}, {"status", "preempted"}, {"signal", run.stopped_by},
               {"checkpoint", out.checkpoint}});
      std::printf("preempted by %s at step %lld/%lld; checkpoint %s; resume with --resume auto\n", run.stopped_by.c_str(),
                  static_cast<long long>(run.state.step), static_cast<long long>(run.state.total_steps),
                  out.checkpoint.c_str());
      std::fflush(stdout);
    }
    return out;
  }
  EGRET_TRY(run.Evaluate());
  Status st = Ok();
  if (root) {
    auto dir = ExportResult(*run.model, config);
    if (dir.ok()) out.export_dir = *dir;
    else st = dir.error();
  }
  EGRET_TRY(FromRoot(comm, st));
  if (root) {
    run.Log({{"type", "end"}, {"step", run.state.step}, {"status", "finished"}, {"checkpoint", out.checkpoint},
             {"export", out.export_dir}});
    if (config.plot) {
      std::string png = (std::filesystem::path(config.output_dir) / "loss.png").string();
      auto p = PlotLoss(config.metrics_path, png);
      if (!p.ok()) std::fprintf(stderr, "egret-train: warning: no loss plot: %s\n", p.error().message().c_str());
    }
    if (options.progress) std::printf("finished %lld steps; wrote %s\n", static_cast<long long>(run.state.step), out.export_dir.c_str());
  }
  return out;
}

}  // namespace egret::train
