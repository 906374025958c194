// egret-sim: replays a job trace (SWF or CSV) or a generated contested trace through the
// policy under FIFO, static quotas, plain fairshare and Egret, and prints the metrics.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "common/fs.h"
#include "common/strings.h"
#include "scheduler/sim/compare.h"
#include "scheduler/sim/generator.h"
#include "scheduler/sim/policy_options.h"
#include "scheduler/sim/report.h"
#include "scheduler/sim/scenario.h"

namespace po = boost::program_options;
using namespace egret;
using namespace egret::sim;

int main(int argc, char** argv) {
  po::options_description desc(
      "egret-sim: compare FIFO, static quotas, fairshare and Egret on a job trace\n"
      "usage: egret-sim --trace FILE [--config tenants.toml | --gpus N] [options]\n"
      "       egret-sim --generate [--seed S --gpus N --days D --load L] [options]\n");
  std::string trace_path, config_path, partition, policies, write_trace, swf_tenant = "user";
  std::vector<std::string> egret_options;
  int gpus = 0, swf_tenants = 0, procs_per_gpu = 1;
  double half_life = -1, grace = 60, window = 4 * 3600, days = 3, load = 1.3;
  uint64_t seed = 1;
  desc.add_options()("help,h", "this help")
      ("trace", po::value(&trace_path), "trace file: .swf (Standard Workload Format) or CSV "
                                        "job_id,submit_s,runtime_s,gpus,tenant[,time_limit_s]")
      ("generate", "generate a contested 4-tenant trace (shares 0.4/0.3/0.2/0.1) instead")
      ("config", po::value(&config_path), "tenants.toml giving tenants, shares and quotas")
      ("partition", po::value(&partition), "the config's partition to replay on (default: first managed)")
      ("gpus", po::value(&gpus), "partition capacity in GPUs (needed without --config; default 64 with --generate)")
      ("half-life", po::value(&half_life), "fairshare decay half-life in seconds (default: config's, or 1 day)")
      ("grace", po::value(&grace)->default_value(60), "seconds a preempted job takes to checkpoint (lost work)")
      ("window", po::value(&window)->default_value(4 * 3600), "Jain's index window in seconds")
      ("policies", po::value(&policies), "comma-separated subset of fifo,static-quota,fairshare,egret")
      ("egret", po::value(&egret_options)->composing(), "set an Egret policy option, KEY=VALUE (repeatable), e.g. running_weight=2")
      ("seed", po::value(&seed)->default_value(1), "generator seed")
      ("days", po::value(&days)->default_value(3), "generator: arrival window in days")
      ("load", po::value(&load)->default_value(1.3), "generator: offered load / capacity")
      ("write-trace", po::value(&write_trace), "write the (generated) trace as CSV to this file")
      ("swf-tenant", po::value(&swf_tenant)->default_value("user"), "SWF: tenant from 'user' or 'group' id")
      ("swf-tenants", po::value(&swf_tenants)->default_value(0), "SWF: fold ids into N tenants t0..t<N-1> (id mod N)")
      ("swf-procs-per-gpu", po::value(&procs_per_gpu)->default_value(1), "SWF: processors per GPU")
      ("tenants", "also print a table per policy with each tenant's figures")
      ("json", "print JSON instead of tables");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "egret-sim: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help") || (!vm.count("trace") && !vm.count("generate"))) {
    std::cout << desc;
    return vm.count("help") ? 0 : 2;
  }
  if (vm.count("trace") && vm.count("generate")) {
    std::cerr << "egret-sim: give --trace or --generate, not both\n";
    return 2;
  }

  Trace trace;
  TraceSetup setup;
  std::string name;
  if (vm.count("generate")) {
    GeneratorOptions g;
    g.seed = seed;
    g.gpus = gpus > 0 ? gpus : 64;
    g.days = days;
    g.load = load;
    if (half_life >= 0) g.half_life_s = half_life;
    Scenario sc = Generate(g);
    trace = std::move(sc.trace);
    setup.spec = std::move(sc.spec);
    char buf[160];
    std::snprintf(buf, sizeof buf, "generated (seed %llu, %d GPUs, %g days, load %g)",
                  static_cast<unsigned long long>(seed), g.gpus, days, load);
    name = buf;
  } else {
    SwfOptions swf;
    if (swf_tenant == "group") swf.tenant_by = SwfOptions::TenantBy::kGroup;
    else if (swf_tenant != "user") {
      std::cerr << "egret-sim: --swf-tenant must be 'user' or 'group' (got '" << swf_tenant << "')\n";
      return 2;
    }
    swf.tenants = swf_tenants;
    swf.procs_per_gpu = procs_per_gpu;
    auto t = LoadTrace(trace_path, swf);
    if (!t.ok()) {
      std::cerr << "egret-sim: " << t.error().message() << "\n";
      return 1;
    }
    trace = std::move(t).value();
    auto s = SetupForTrace(trace, config_path, partition, gpus, half_life);
    if (!s.ok()) {
      std::cerr << "egret-sim: " << s.error().message() << "\n";
      return 1;
    }
    setup = std::move(s).value();
    name = trace_path;
  }
  if (!write_trace.empty()) {
    if (auto st = WriteFileAtomic(write_trace, TraceToCsv(trace)); !st.ok()) {
      std::cerr << "egret-sim: " << st.error().message() << "\n";
      return 1;
    }
  }
  auto pols = ComparedPolicies(policies.empty() ? std::vector<std::string>{} : Split(policies, ',', true));
  if (!pols.ok()) {
    std::cerr << "egret-sim: " << pols.error().message() << "\n";
    return 2;
  }
  for (auto& p : *pols) {
    if (p.name != "egret") continue;
    for (const std::string& kv : egret_options) {
      if (auto st = SetPolicyOption(&p.options, kv); !st.ok()) {
        std::cerr << "egret-sim: " << st.error().message() << "\n";
        return 2;
      }
    }
  }
  SimOptions so;
  so.preempt_grace_s = grace;
  so.partition = setup.partition;
  MetricOptions mo;
  mo.window_s = window;
  auto runs = Compare(setup.spec, trace, *pols, so, mo);
  if (!runs.ok()) {
    std::cerr << "egret-sim: " << runs.error().message() << "\n";
    return 1;
  }
  if (vm.count("json")) {
    std::cout << ToJson(*runs, name) << "\n";
    return 0;
  }
  std::printf("trace: %s: %zu jobs, %d GPUs, window %.0f s%s\n", name.c_str(), trace.jobs.size(),
              setup.spec.partitions[setup.partition].capacity_gpus, window,
              trace.skipped ? (", " + std::to_string(trace.skipped) + " SWF records skipped").c_str() : "");
  std::cout << SummaryTable(*runs);
  if (vm.count("tenants"))
    for (const PolicyRun& r : *runs) std::cout << "\n" << TenantTable(r);
  return 0;
}
