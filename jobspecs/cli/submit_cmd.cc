#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "jobspecs/bench/layout.h"
#include "jobspecs/cli/commands.h"
#include "jobspecs/spec/parse.h"
#include "jobspecs/spec/sweep.h"
#include "jobspecs/submit/submit.h"

namespace po = boost::program_options;

namespace egret::jobspec::cli {

int RunSubmit(const std::vector<std::string>& args) {
  po::options_description desc(
      "usage: egret submit JOBSPEC [options]\n\n"
      "Renders JOBSPEC (a TOML file; see jobspecs/README.md) into a batch script and submits it\n"
      "with sbatch; prints the job id. A list of values for a [training] hyperparameter makes a\n"
      "job array (one task per combination). A benchmark with a schedule starts its chain.\n\n"
      "options");
  std::string spec_path, prefix, tenant_opt = "auto";
  std::vector<std::string> sets;
  desc.add_options()
      ("help,h", "this help")
      ("dry-run,n", "print the batch script instead of submitting it")
      ("set,s", po::value(&sets)->composing(), "KEY=VALUE: override a jobspec key (e.g. training.lr=1e-4, "
                                                "resources.nodes=2, training.lr=[1e-4,3e-4]); repeatable")
      ("prefix", po::value(&prefix), "Egret's install prefix on the compute nodes (default: $EGRET_PREFIX, "
                                     "else where this egret runs from)")
      ("tenant-option", po::value(&tenant_opt), "auto|yes|no: pass egret.so's --tenant (auto: when sbatch lists it)");
  po::options_description hidden;
  hidden.add_options()("jobspec", po::value(&spec_path));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("jobspec", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "egret submit: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (spec_path.empty()) {
    std::cerr << "egret submit: which jobspec? (egret submit JOBSPEC)\n";
    return 2;
  }
  if (tenant_opt != "auto" && tenant_opt != "yes" && tenant_opt != "no") {
    std::cerr << "egret submit: --tenant-option must be auto, yes or no (got " << tenant_opt << ")\n";
    return 2;
  }
  auto spec = ParseJobspecFile(spec_path, sets);
  if (!spec.ok()) {
    std::cerr << spec.error().message() << "\n";
    return 1;
  }
  submit::Options o;
  o.prefix = submit::ResolvePrefix(prefix);
  o.cwd = std::filesystem::current_path().string();
  o.dry_run = vm.count("dry-run") > 0;
  if (tenant_opt != "auto") o.tenant_option = tenant_opt == "yes";
  auto r = submit::Submit(*spec, o, static_cast<int64_t>(std::time(nullptr)));
  if (!r.ok()) {
    std::cerr << "egret submit: " << r.error().message() << "\n";
    return 1;
  }
  if (o.dry_run) {
    std::cout << r->script;
    return 0;
  }
  std::cout << r->job_id << "\n";
  std::cerr << "egret: submitted " << KindName(spec->kind) << " \"" << spec->name << "\" for tenant "
            << spec->tenant << " as job " << r->job_id;
  if (spec->IsSweep()) std::cerr << " (array of " << spec->TaskCount() << " tasks)";
  std::cerr << "; log and status in " << r->runs_dir << "/\n";
  if (spec->IsSweep())
    for (int64_t t = 0; t < spec->TaskCount(); ++t)
      std::cerr << "  " << r->job_id << "_" << t << ": " << DescribeTask(*spec, t) << "\n";
  if (r->first_fire)
    std::cerr << "  first run at " << bench::BeginTime(r->first_fire) << ", schedule "
              << spec->benchmark->schedule->text << "; stop it with: egret bench cancel " << spec->tenant
              << ":" << spec->name << "\n";
  return 0;
}

}  // namespace egret::jobspec::cli
