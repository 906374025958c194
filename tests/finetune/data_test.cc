// The data pipeline's own logic, with hand-worked expectations: JSONL parsing and its error
// messages, packing boundaries and labels, the train/eval split, and the HDF5 file as h5py
// reads it. (Tokenization with real tokenizers and chat templates: import_test.cc.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/data/example.h"
#include "mpi_trainer/data/import.h"
#include "mpi_trainer/data/packing.h"
#include "mpi_trainer/h5/h5.h"

namespace egret::data {
namespace {

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("egret-data-test-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(ParseExample, AcceptsTheThreeShapes) {
  auto t = ParseExample(R"({"text": "hello"})");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->kind, ExampleKind::kText);
  EXPECT_EQ(t->text, "hello");

  auto pc = ParseExample(R"({"prompt": "2+2=", "completion": "4", "id": 7})");
  ASSERT_TRUE(pc.ok()) << pc.error().message();
  EXPECT_EQ(pc->kind, ExampleKind::kPromptCompletion);
  EXPECT_EQ(pc->prompt, "2+2=");
  EXPECT_EQ(pc->completion, "4");

  auto chat = ParseExample(
      R"({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "!"}]}, {"role": "assistant", "content": "hello", "weight": 0}, {"role": "user", "content": "again"}, {"role": "assistant", "content": "yo"}]})");
  ASSERT_TRUE(chat.ok()) << chat.error().message();
  EXPECT_EQ(chat->kind, ExampleKind::kChat);
  ASSERT_EQ(chat->messages.size(), 5u);
  EXPECT_EQ(chat->messages[1].content, "hi!");
  EXPECT_FALSE(chat->messages[2].train);
  EXPECT_TRUE(chat->messages[4].train);

  auto conv = ParseExample(
      R"({"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}]})");
  ASSERT_TRUE(conv.ok()) << conv.error().message();
  EXPECT_EQ(conv->kind, ExampleKind::kChat);
  ASSERT_EQ(conv->messages.size(), 2u);
  EXPECT_FALSE(conv->messages[0].train);
  EXPECT_TRUE(conv->messages[1].train);
}

TEST(ParseExample, ExplainsWhatIsWrong) {
  auto msg = [](const char* line) {
    auto r = ParseExample(line);
    return r.ok() ? std::string("accepted") : r.error().message();
  };
  EXPECT_EQ(msg("[1, 2]"), "expected a JSON object (got array)");
  EXPECT_EQ(msg(R"({"txt": "x"})"), "no training field: expected \"text\", \"prompt\"+\"completion\" or \"messages\"");
  EXPECT_EQ(msg(R"({"text": "x", "prompt": "y", "completion": "z"})"),
            "ambiguous example: use exactly one of \"text\", \"prompt\"+\"completion\", \"messages\"");
  EXPECT_EQ(msg(R"({"text": 5})"), "'text' must be a string (got number)");
  EXPECT_EQ(msg(R"({"text": ""})"), "'text' is empty");
  EXPECT_EQ(msg(R"({"prompt": "p"})"), "has \"prompt\" but no \"completion\"");
  EXPECT_EQ(msg(R"({"prompt": "p", "completion": ["x"]})"),
            "'prompt' and 'completion' must both be strings or both be message lists (got string and array)");
  EXPECT_EQ(msg(R"({"messages": []})"), "'messages' is empty");
  EXPECT_EQ(msg(R"({"messages": [{"role": "user", "content": "a"}, {"role": 3, "content": "b"}]})"),
            "messages[1].role must be a non-empty string");
  EXPECT_EQ(msg(R"({"messages": [{"role": "user"}]})"), "messages[0] has no content");
  EXPECT_EQ(msg(R"({"messages": [{"role": "assistant", "content": "a", "weight": 2}]})"),
            "messages[0].weight must be 0 or 1 (got 2)");
  EXPECT_EQ(msg(R"({"messages": [{"role": "user", "content": [{"type": "image"}]}]})"),
            "messages[0].content[0] must be {\"type\": \"text\", \"text\": \"...\"} (only text parts are supported)");
  EXPECT_EQ(msg(R"({"text": "unterminated)").rfind("not valid JSON: ", 0), 0u);
}

Document Doc(int32_t first, int n, std::vector<uint8_t> mask = {}) {
  Document d;
  for (int i = 0; i < n; ++i) d.ids.push_back(first + i);
  d.mask = mask.empty() ? std::vector<uint8_t>(n, 1) : mask;
  return d;
}

TEST(Pack, BestFitKeepsDocumentsApartAndLabelsWithinThem) {
  // Lengths 5, 3, 7 into rows of 8: 5 opens row 0, 3 fills it exactly, 7 opens row 1.
  std::vector<Document> docs = {Doc(100, 5, {1, 1, 0, 1, 1}), Doc(200, 3), Doc(300, 7)};
  PackedRows p = Pack(docs, 8, /*pad_id=*/0, Overflow::kSplit);
  ASSERT_EQ(p.rows, 2);
  EXPECT_EQ(p.input_ids, (std::vector<int32_t>{100, 101, 102, 103, 104, 200, 201, 202,  //
                                                300, 301, 302, 303, 304, 305, 306, 0}));
  EXPECT_EQ(p.position_ids, (std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2,  //
                                                   0, 1, 2, 3, 4, 5, 6, 0}));
  EXPECT_EQ(p.document_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 1, 1, 1,  //
                                                   2, 2, 2, 2, 2, 2, 2, -1}));
  // The first token of each document is never a target (nothing before it may be seen);
  // token 102 is masked out by its document; padding is -100.
  EXPECT_EQ(p.labels, (std::vector<int32_t>{-100, 101, -100, 103, 104, -100, 201, 202,  //
                                             -100, 301, 302, 303, 304, 305, 306, -100}));
  EXPECT_EQ(p.target_tokens, 3 + 2 + 6);
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[1].row, 0);
  EXPECT_EQ(p.segments[1].start, 5);
}

TEST(Pack, BestFitPrefersTheTightestRow) {
  // Rows of 10: 6 -> row 0 (room 4), 8 -> row 1 (room 2), 2 -> row 1 (tightest fit), 4 -> row 0.
  std::vector<Document> docs = {Doc(0, 6), Doc(10, 8), Doc(20, 2), Doc(30, 4)};
  PackedRows p = Pack(docs, 10, 0, Overflow::kSplit);
  ASSERT_EQ(p.rows, 2);
  EXPECT_EQ(p.segments[2].row, 1);
  EXPECT_EQ(p.segments[2].start, 8);
  EXPECT_EQ(p.segments[3].row, 0);
  EXPECT_EQ(p.segments[3].start, 6);
}

TEST(Pack, SplitsLongDocumentsSoEveryTargetIsPredictedOnce) {
  // 10 tokens into rows of 4: pieces [0,4) [3,7) [6,10), each starting on the previous one's
  // last token, so tokens 1..9 are each a target exactly once.
  PackedRows p = Pack({Doc(0, 10)}, 4, 0, Overflow::kSplit);
  EXPECT_EQ(p.documents_split, 1);
  ASSERT_EQ(p.rows, 3);
  EXPECT_EQ(p.input_ids, (std::vector<int32_t>{0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9}));
  std::vector<int> seen(10, 0);
  for (int32_t l : p.labels)
    if (l != kIgnoreLabel) ++seen[l];
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(p.target_tokens, 9);

  PackedRows t = Pack({Doc(0, 10), Doc(50, 2)}, 4, 0, Overflow::kTruncate);
  EXPECT_EQ(t.documents_truncated, 1);
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(std::vector<int32_t>(t.input_ids.begin(), t.input_ids.begin() + 4), (std::vector<int32_t>{0, 1, 2, 3}));

  PackedRows d = Pack({Doc(0, 10), Doc(50, 2)}, 4, 7, Overflow::kDrop);
  EXPECT_EQ(d.documents_dropped, 1);
  EXPECT_EQ(d.rows, 1);
  EXPECT_EQ(d.input_ids, (std::vector<int32_t>{50, 51, 7, 7}));
}

TEST(Split, IsDeterministicAndNearTheFraction) {
  int eval_hash = 0, eval_seed = 0;
  for (int i = 1; i <= 20000; ++i) {
    std::string line = "{\"text\": \"line " + std::to_string(i) + "\"}";
    bool h = IsEvalLine(SplitBy::kHash, 7, i, line, 0.1);
    EXPECT_EQ(h, IsEvalLine(SplitBy::kHash, 7, i + 1000, line, 0.1)) << "hash split must not depend on position";
    eval_hash += h;
    eval_seed += IsEvalLine(SplitBy::kSeed, 7, i, line, 0.1);
  }
  // Binomial(20000, 0.1): sd ~ 42, so +-300 is a 7-sigma band.
  EXPECT_NEAR(eval_hash, 2000, 300);
  EXPECT_NEAR(eval_seed, 2000, 300);
  // Different seeds give different splits.
  int differ = 0;
  for (int i = 1; i <= 1000; ++i) differ += IsEvalLine(SplitBy::kSeed, 1, i, "", 0.5) != IsEvalLine(SplitBy::kSeed, 2, i, "", 0.5);
  EXPECT_GT(differ, 300);
  EXPECT_FALSE(IsEvalLine(SplitBy::kNone, 7, 1, "x", 0.9));
}

// Bytes as tokens; prompt/completion and chat masks as the real encoder defines them.
// A stand-in for the tokenizer so these tests see only the pipeline's logic.
class ByteEncoder : public DocumentEncoder {
 public:
  Result<Document> Encode(const Example& ex) const override {
    Document d;
    auto add = [&](const std::string& s, uint8_t m) {
      for (unsigned char c : s) {
        d.ids.push_back(c);
        d.mask.push_back(m);
      }
    };
    switch (ex.kind) {
      case ExampleKind::kText: add(ex.text, 1); break;
      case ExampleKind::kPromptCompletion: add(ex.prompt, 0); add(ex.completion, 1); break;
      case ExampleKind::kChat: {
        bool any = false;
        for (const auto& m : ex.messages) {
          add(m.role + ":", 0);
          bool t = m.role == "assistant" && m.train;
          any |= t;
          add(m.content, t);
        }
        if (!any) return Error("no assistant message to train on");
      }
    }
    d.ids.push_back(256);
    d.mask.push_back(1);
    return d;
  }
  std::string Fingerprint() const override { return "bytes"; }
  int32_t PadId() const override { return 257; }
};

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
}

TEST(Import, SkipsAndReportsBadLinesWithTheirNumbers) {
  std::string dir = TempDir("bad");
  std::string in = dir + "/in.jsonl";
  WriteLines(in, {R"({"text": "abc"})", "not json", "", R"({"prompt": "p", "completion": "cc"})",
                  R"({"messages": [{"role": "user", "content": "u"}]})", R"({"text": "de"})"});
  ImportOptions o;
  o.input = in;
  o.output = dir + "/out.h5";
  o.seq_len = 8;
  std::vector<std::string> seen;
  auto r = ImportJsonl(o, ByteEncoder(), [&](const std::string& m) { seen.push_back(m); });
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->bad_lines, 2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].rfind(in + ":2: not valid JSON: ", 0), 0u) << seen[0];
  EXPECT_EQ(seen[1], in + ":5: no assistant message to train on");
  EXPECT_EQ(r->train.lines_total, 5);  // the blank line is not an example
  EXPECT_EQ(r->train.lines_used, 3);
  EXPECT_EQ(r->train.text_examples, 2);
  EXPECT_EQ(r->train.prompt_completion_examples, 1);

  auto ds = DatasetReader::Open(o.output);
  ASSERT_TRUE(ds.ok()) << ds.error().message();
  EXPECT_EQ((*ds)->seq_len(), 8);
  // Documents: "abc"+eos (4), "pcc"+eos (4), "de"+eos (3) -> rows [abc. pcc.] and [de. pad*5].
  EXPECT_EQ((*ds)->rows(), 2);
  Row row;
  ASSERT_TRUE((*ds)->ReadRow(0, &row).ok());
  EXPECT_EQ(row.input_ids, (std::vector<int32_t>{'a', 'b', 'c', 256, 'p', 'c', 'c', 256}));
  EXPECT_EQ(row.labels, (std::vector<int32_t>{-100, 'b', 'c', 256, -100, 'c', 'c', 256}));
  EXPECT_EQ(row.document_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));

  o.strict = true;
  auto strict = ImportJsonl(o, ByteEncoder());
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().message().rfind(in + ":2: not valid JSON: ", 0), 0u) << strict.error().message();
  EXPECT_NE(strict.error().message().find("--strict"), std::string::npos);
}

TEST(Import, SplitsTrainAndEvalWithoutLosingLines) {
  std::string dir = TempDir("split");
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) lines.push_back("{\"text\": \"example number " + std::to_string(i) + "\"}");
  WriteLines(dir + "/in.jsonl", lines);
  ImportOptions o;
  o.input = dir + "/in.jsonl";
  o.output = dir + "/train.h5";
  o.eval_output = dir + "/eval.h5";
  o.eval_fraction = 0.25;
  o.seq_len = 64;
  auto r = ImportJsonl(o, ByteEncoder());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->train.lines_used + r->eval.lines_used, 200);
  EXPECT_GT(r->eval.lines_used, 20);
  EXPECT_LT(r->eval.lines_used, 80);
  EXPECT_EQ(r->train.split, "train");
  EXPECT_EQ(r->eval.split, "eval");
  // Same inputs, same split.
  auto again = ImportJsonl(o, ByteEncoder());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->eval.lines_used, r->eval.lines_used);

  o.eval_output.clear();
  auto missing = ImportJsonl(o, ByteEncoder());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "eval-fraction > 0 needs an eval output file (--eval-output)");
}

TEST(Import, H5pyReadsTheLayoutTheReadmeDocuments) {
  std::string dir = TempDir("h5py");
  WriteLines(dir + "/in.jsonl", {R"({"text": "hello"})", R"({"prompt": "a", "completion": "b"})"});
  ImportOptions o;
  o.input = dir + "/in.jsonl";
  o.output = dir + "/out.h5";
  o.seq_len = 16;
  ASSERT_TRUE(ImportJsonl(o, ByteEncoder()).ok());
  const char* script = R"PY(
import sys, h5py, hashlib
f = h5py.File(sys.argv[1], "r")
assert f.attrs["format"] == "egret-dataset", f.attrs["format"]
m = f["meta"].attrs
assert m["seq_len"] == 16 and m["rows"] == 1 and m["documents"] == 2, dict(m)
assert m["source_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert m["tokenizer_sha256"] == "bytes"
d = f["documents"]
off = d["offsets"][:]
assert list(off) == [0, 6, 9], off
assert list(d["tokens"][off[1]:off[2]]) == [97, 98, 256]
assert list(d["loss_mask"][off[1]:off[2]]) == [0, 1, 1]
r = f["rows"]
assert r["input_ids"].shape == (1, 16) and r["input_ids"].dtype == "int32"
assert list(r["labels"][0][:9]) == [-100, 101, 108, 108, 111, 256, -100, 98, 256]
assert list(r["position_ids"][0][:9]) == [0, 1, 2, 3, 4, 5, 0, 1, 2]
assert list(r["document_ids"][0][8:10]) == [1, -1]
assert r["segments"].shape == (2, 5)
print("ok")
)PY";
  auto py = RunProcess({"/usr/bin/python3", "-c", script, o.output, o.input});
  ASSERT_TRUE(py.ok()) << py.error().message();
  EXPECT_EQ(py->exit_code, 0) << py->out << py->err;
  EXPECT_EQ(py->out, "ok\n");
}

TEST(H5, RefusesTruncatedAndForeignFiles) {
  std::string dir = TempDir("h5");
  {
    std::ofstream(dir + "/text.h5") << "this is not HDF5";
  }
  auto r = h5::File::Open(dir + "/text.h5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind(dir + "/text.h5: not a readable HDF5 file", 0), 0u) << r.error().message();
  auto none = h5::File::Open(dir + "/absent.h5");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message().rfind(dir + "/absent.h5: ", 0), 0u);

  auto f = h5::File::Create(dir + "/plain.h5");
  ASSERT_TRUE(f.ok());
  std::vector<float> v(10000, 1.5f);
  ASSERT_TRUE(f->Write("x", v).ok());
  ASSERT_TRUE(f->SetAttr("name", "value").ok());
  ASSERT_TRUE(f->Close().ok());
  auto g = h5::File::Open(dir + "/plain.h5");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->StringAttr("name"), "value");
  EXPECT_EQ(g->Read<float>("x")->at(9999), 1.5f);
  auto missing = g->IntAttr("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), dir + "/plain.h5:/: missing attribute 'nope'");
  auto ds = DatasetReader::Open(dir + "/plain.h5");
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.error().message(), dir + "/plain.h5: not an Egret dataset (no format=\"egret-dataset\" attribute); "
                                        "create one with: egret-data import");
  ASSERT_TRUE(g->Close().ok());
  std::filesystem::resize_file(dir + "/plain.h5", 1000);
  auto trunc = h5::File::Open(dir + "/plain.h5");
  ASSERT_FALSE(trunc.ok());
  EXPECT_EQ(trunc.error().message().rfind(dir + "/plain.h5: not a readable HDF5 file (truncated or corrupt?)", 0), 0u)
      << trunc.error().message();
}

}  // namespace
}  // namespace egret::data
