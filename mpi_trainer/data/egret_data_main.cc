// egret-data: turns a tenant's JSONL into the HDF5 dataset egret-train reads.
//   egret-data import --tokenizer MODEL_DIR --input data.jsonl --output train.h5 [options]
//   egret-data info FILE.h5
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/data/encoder_hf.h"
#include "mpi_trainer/data/import.h"

namespace po = boost::program_options;
using namespace egret::data;

namespace {

nlohmann::json MetaJson(const DatasetMeta& m) {
  return {{"split", m.split}, {"lines_total", m.lines_total}, {"lines_used", m.lines_used},
          {"lines_skipped", m.lines_skipped}, {"lines_other_split", m.lines_other_split},
          {"text_examples", m.text_examples}, {"prompt_completion_examples", m.prompt_completion_examples},
          {"chat_examples", m.chat_examples}, {"documents", m.documents}, {"tokens", m.tokens},
          {"target_tokens", m.target_tokens}, {"rows", m.rows}, {"seq_len", m.seq_len},
          {"documents_split", m.documents_split}, {"documents_truncated", m.documents_truncated},
          {"documents_dropped", m.documents_dropped}, {"tokenizer_sha256", m.tokenizer_sha256},
          {"source_sha256", m.source_sha256}, {"source_name", m.source_name}, {"split_by", m.split_by},
          {"split_fraction", m.split_fraction}, {"split_seed", m.split_seed}, {"pad_id", m.pad_id},
          {"overflow", m.overflow}, {"format_version", m.format_version}};
}

int Import(const std::vector<std::string>& args) {
  ImportOptions o;
  std::string tokenizer, split_by = "hash", overflow = "split";
  bool quiet = false;
  po::options_description desc(
      "egret-data import: JSONL ({\"text\"}, {\"prompt\",\"completion\"} or {\"messages\"} per line) -> HDF5 dataset");
  desc.add_options()("help,h", "this help")
      ("tokenizer", po::value(&tokenizer)->required(), "model or tokenizer directory (or tokenizer.json)")
      ("input", po::value(&o.input)->required(), "JSONL file")
      ("output", po::value(&o.output)->required(), "HDF5 file to write (the train split when splitting)")
      ("seq-len", po::value(&o.seq_len)->default_value(2048), "tokens per packed row")
      ("overflow", po::value(&overflow)->default_value("split"), "documents longer than a row: split | truncate | drop")
      ("eval-output", po::value(&o.eval_output), "HDF5 file for the eval split")
      ("eval-fraction", po::value(&o.eval_fraction)->default_value(0), "share of lines for the eval split, [0, 1)")
      ("split-by", po::value(&split_by)->default_value("hash"),
       "hash: by the line's content (stable, duplicates together) | seed: by line number and --seed")
      ("seed", po::value(&o.seed)->default_value(0), "seed of the split")
      ("strict", po::bool_switch(&o.strict), "fail on the first bad line instead of skipping it")
      ("quiet", po::bool_switch(&quiet), "print only errors");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "egret-data import: %s\n%s", e.what(), "(egret-data import --help lists the options)\n");
    return 2;
  }
  auto sb = ParseSplitBy(split_by);
  auto ov = ParseOverflow(overflow);
  if (!sb.ok() || !ov.ok()) {
    std::fprintf(stderr, "egret-data import: %s\n", (!sb.ok() ? sb.error() : ov.error()).message().c_str());
    return 2;
  }
  o.split_by = *sb;
  o.overflow = *ov;
  auto enc = TokenizerEncoder::Load(tokenizer);
  if (!enc.ok()) {
    std::fprintf(stderr, "egret-data import: %s\n", enc.error().message().c_str());
    return 1;
  }
  int64_t reported = 0;
  auto report = ImportJsonl(o, **enc, [&](const std::string& msg) {
    if (reported++ < static_cast<int64_t>(o.max_reported_errors)) std::fprintf(stderr, "skipped %s\n", msg.c_str());
  });
  if (!report.ok()) {
    std::fprintf(stderr, "egret-data import: %s\n", report.error().message().c_str());
    return 1;
  }
  if (report->bad_lines > static_cast<int64_t>(o.max_reported_errors))
    std::fprintf(stderr, "... and %lld more bad lines\n",
                 static_cast<long long>(report->bad_lines - static_cast<int64_t>(o.max_reported_errors)));
  if (!quiet) {
    nlohmann::json out = {{"output", o.output}, {"train", MetaJson(report->train)}, {"bad_lines", report->bad_lines}};
    if (!o.eval_output.empty() && o.eval_fraction > 0) {
      out["eval_output"] = o.eval_output;
      out["eval"] = MetaJson(report->eval);
    }
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

int Info(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.size() == 1 ? stdout : stderr, "usage: egret-data info FILE.h5   (metadata as JSON)\n");
    return args.size() == 1 ? 0 : 2;
  }
  auto ds = DatasetReader::Open(args[0]);
  if (!ds.ok()) {
    std::fprintf(stderr, "egret-data info: %s\n", ds.error().message().c_str());
    return 1;
  }
  std::cout << MetaJson((*ds)->meta()).dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout,
                 "usage: egret-data COMMAND [options]   (egret-data COMMAND --help)\n\n"
                 "commands:\n  import   JSONL -> packed HDF5 dataset (train, optional eval split)\n"
                 "  info     a dataset's metadata as JSON\n");
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "import") return Import(args);
  if (cmd == "info") return Info(args);
  std::fprintf(stderr, "egret-data: unknown command '%s' (import, info)\n", cmd.c_str());
  return 2;
}
