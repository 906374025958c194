// egret-data import with real tokenizers and chat templates: which tokens are trained on for
// each example shape (checked against the template's rendered text, built independently in the
// test for ChatML, and against the documented assistant spans for Llama 3 and Qwen3), the
// packed layout as h5py reads it, and bad lines reported by number.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/finetune/support.h"
#include "tests/finetune/tiny_model.h"

namespace egret::testing {
namespace {
namespace fs = std::filesystem;

struct Imported {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

// Imports LINES with TOKENIZER and returns the documents (all rows in one file).
std::vector<Imported> Import(const std::string& tokenizer, const std::vector<std::string>& lines,
                             const std::string& name, int seq_len = 512) {
  std::string dir = FreshDir("import-" + name);
  WriteLines(dir + "/in.jsonl", lines);
  auto r = RunData({"import", "--tokenizer", tokenizer, "--input", dir + "/in.jsonl", "--output", dir + "/out.h5",
                    "--seq-len", std::to_string(seq_len), "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const char* dump = R"PY(
import sys, json, h5py
d = h5py.File(sys.argv[1], "r")["documents"]
t, m, o = d["tokens"][:], d["loss_mask"][:], d["offsets"][:]
print(json.dumps([{"ids": t[o[i]:o[i+1]].tolist(), "mask": m[o[i]:o[i+1]].tolist()} for i in range(len(o) - 1)]))
)PY";
  auto py = RunProcess({"/usr/bin/python3", "-c", dump, dir + "/out.h5"});
  EXPECT_TRUE(py.ok() && py->exit_code == 0);
  std::vector<Imported> out;
  for (auto& d : nlohmann::json::parse(py->out))
    out.push_back({d["ids"].get<std::vector<int32_t>>(), d["mask"].get<std::vector<uint8_t>>()});
  return out;
}

std::string Decode(const std::string& tokenizer, const std::vector<int32_t>& ids) {
  auto r = RunTrain({"tokenize", "--tokenizer", tokenizer, "--decode", "--text", nlohmann::json(ids).dump()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["text"].get<std::string>();
}

std::vector<int32_t> Masked(const Imported& d, bool trained) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < d.ids.size(); ++i)
    if ((d.mask[i] != 0) == trained) out.push_back(d.ids[i]);
  return out;
}

const char* kChat =
    R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}, )"
    R"({"role": "assistant", "content": "hello"}, {"role": "user", "content": "again?"}, )"
    R"({"role": "assistant", "content": "yes", "weight": 0}, {"role": "user", "content": "last"}, )"
    R"({"role": "assistant", "content": "bye"}]})";

TEST(ImportChat, TrainsOnExactlyTheAssistantTurnsOfChatML) {
  // The byte tokenizer's template is ChatML; its rendering is written out here by hand, and
  // with one token per byte (or special) every token's text is known.
  std::string tok = ByteTokenizerDir();
  auto docs = Import(tok, {kChat}, "chatml");
  ASSERT_EQ(docs.size(), 1u);
  std::string rendered =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
      "<|im_start|>user\nagain?<|im_end|>\n<|im_start|>assistant\nyes<|im_end|>\n<|im_start|>user\nlast<|im_end|>\n"
      "<|im_start|>assistant\nbye<|im_end|>\n";
  EXPECT_EQ(Decode(tok, docs[0].ids), rendered);
  // Trained: each assistant turn's content and its <|im_end|>, except the weight-0 turn.
  EXPECT_EQ(Decode(tok, Masked(docs[0], true)), "hello<|im_end|>bye<|im_end|>");
  std::string context = Decode(tok, Masked(docs[0], false));
  for (const char* s : {"Be brief.", "hi", "again?", "yes", "last", "<|im_start|>assistant\n"})
    EXPECT_NE(context.find(s), std::string::npos) << s;
  // The trained tokens are contiguous runs ending in <|im_end|>.
  for (size_t i = 0; i + 1 < docs[0].ids.size(); ++i) {
    if (docs[0].mask[i] && !docs[0].mask[i + 1]) {
      EXPECT_EQ(docs[0].ids[i], 258) << i;
    }
  }
}

TEST(ImportChat, FollowsTheModelsOwnTemplates) {
  // Assistant spans as transformers' return_assistant_tokens_mask would mark them: the turn's
  // generated text through its end-of-turn token. Qwen3's template renders an empty think
  // block into the final assistant turn, which is part of what the model generates.
  struct Case {
    std::string name, trained;
  };
  for (const Case& c : {Case{"llama3_1", "hello<|eot_id|>bye<|eot_id|>"},
                        Case{"qwen3", "hello<|im_end|><think>\n\n</think>\n\nbye<|im_end|>"}}) {
    std::string tok = "/var/cache/egret/tokenizers/" + c.name;
    if (!fs::exists(tok + "/tokenizer.json")) GTEST_SKIP() << tok << " missing (tools/install-deps fetches it)";
    auto docs = Import(tok, {kChat}, c.name);
    ASSERT_EQ(docs.size(), 1u);
    EXPECT_EQ(Decode(tok, Masked(docs[0], true)), c.trained) << c.name;
    // The document is the template's rendering, tokenized.
    std::string dir = FreshDir("chat-" + c.name);
    nlohmann::json messages = nlohmann::json::parse(kChat)["messages"];
    for (auto& m : messages) m.erase("weight");
    std::ofstream(dir + "/m.json") << messages.dump();
    auto r = RunTrain({"tokenize", "--tokenizer", tok, "--chat", dir + "/m.json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["ids"].get<std::vector<int32_t>>(), docs[0].ids) << c.name;
  }
}

TEST(ImportShapes, PromptCompletionAndTextMasks) {
  std::string tok = "/var/cache/egret/tokenizers/llama3_1";
  if (!fs::exists(tok + "/tokenizer.json")) GTEST_SKIP() << tok << " missing";
  auto docs = Import(tok, {R"({"prompt": "Translate: chat ->", "completion": " cat"})", R"({"text": "Plain text here."})"},
                     "shapes");
  ASSERT_EQ(docs.size(), 2u);
  // Prompt/completion: BOS + prompt are context; the completion and EOS are trained.
  EXPECT_EQ(Decode(tok, Masked(docs[0], false)), "<|begin_of_text|>Translate: chat ->");
  EXPECT_EQ(Decode(tok, Masked(docs[0], true)), " cat<|eot_id|>");
  // Text: everything is trained (BOS is never a target: nothing precedes it).
  EXPECT_EQ(Decode(tok, docs[1].ids), "<|begin_of_text|>Plain text here.<|eot_id|>");
  EXPECT_EQ(Masked(docs[1], false).size(), 0u);
}

TEST(ImportLayout, PackedRowsAreTheDocumentsAsTheReadmeSays) {
  // An independent reading of the file (numpy): every segment is a slice of its document,
  // positions restart, labels are the targets of that slice, and the rest is padding.
  std::string tok = "/var/cache/egret/tokenizers/qwen3";
  if (!fs::exists(tok + "/tokenizer.json")) tok = ByteTokenizerDir();
  std::string dir = FreshDir("layout");
  std::vector<std::string> lines = AlphabetLines(40, 3);
  lines.push_back(kChat);
  lines.push_back(R"({"prompt": "p", "completion": ")" + std::string(300, 'z') + "\"}");  // longer than a row
  WriteLines(dir + "/in.jsonl", lines);
  auto r = RunData({"import", "--tokenizer", tok, "--input", dir + "/in.jsonl", "--output", dir + "/out.h5",
                    "--seq-len", "64", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const char* check = R"PY(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
d, r = f["documents"], f["rows"]
t, m, o = d["tokens"][:], d["loss_mask"][:], d["offsets"][:]
ids, lab, pos, doc = (r[k][:] for k in ("input_ids", "labels", "position_ids", "document_ids"))
R, L = ids.shape
assert L == 64 and f["meta"].attrs["rows"] == R
covered = np.zeros(R * L, bool)
targets = {}
for row, start, n, di, ds in r["segments"][:]:
    sl = slice(start, start + n)
    src = t[o[di] + ds: o[di] + ds + n]
    assert (ids[row, sl] == src).all()
    assert (pos[row, sl] == np.arange(n)).all()
    assert (doc[row, sl] == di).all()
    want = np.where(m[o[di] + ds: o[di] + ds + n] == 1, src, -100)
    want[0] = -100
    assert (lab[row, sl] == want).all()
    for k in range(1, n):
        if m[o[di] + ds + k]:
            targets[(di, ds + k)] = targets.get((di, ds + k), 0) + 1
    covered[row * L + start: row * L + start + n] = True
pad = ~covered.reshape(R, L)
assert (lab[pad] == -100).all() and (doc[pad] == -1).all() and (ids[pad] == f["meta"].attrs["pad_id"]).all()
# Every trainable token of every document is a target exactly once, split document included.
want = sum(int(m[o[i] + 1:o[i + 1]].sum()) for i in range(len(o) - 1))
assert len(targets) == want and set(targets.values()) == {1}, (len(targets), want)
assert f["meta"].attrs["documents_split"] == 1
assert (lab != -100).sum() == f["meta"].attrs["target_tokens"] == want
print("ok", R)
)PY";
  auto py = RunProcess({"/usr/bin/python3", "-c", check, dir + "/out.h5"});
  ASSERT_TRUE(py.ok());
  EXPECT_EQ(py->exit_code, 0) << py->out << py->err;
  EXPECT_EQ(py->out.rfind("ok ", 0), 0u) << py->out;
}

TEST(ImportErrors, BadLinesAreNumberedSkippedOrFatal) {
  std::string dir = FreshDir("badlines");
  WriteLines(dir + "/in.jsonl", {R"({"text": "fine"})", R"({"messages": [{"role": "user", "content": "no answer"}]})",
                                 "{broken", R"({"prompt": "x"})", R"({"text": "also fine"})"});
  std::string in = dir + "/in.jsonl";
  auto r = RunData({"import", "--tokenizer", ByteTokenizerDir(), "--input", in, "--output", dir + "/o.h5", "--seq-len",
                    "32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "skipped " + in + ":2: no assistant message to train on\n" + "skipped " + in +
                       ":3: not valid JSON: column 2: syntax error while parsing object key - invalid literal; last "
                       "read: '{b'; expected string literal\n" +
                       "skipped " + in + ":4: has \"prompt\" but no \"completion\"\n");
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["bad_lines"], 3);
  EXPECT_EQ(summary["train"]["lines_used"], 2);
  EXPECT_EQ(summary["train"]["lines_skipped"], 3);

  auto strict = RunData({"import", "--tokenizer", ByteTokenizerDir(), "--input", in, "--output", dir + "/s.h5",
                         "--seq-len", "32", "--strict"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(strict.err, "egret-data import: " + in +
                            ":2: no assistant message to train on (--strict: fix or remove the line, or import "
                            "without --strict to skip it)\n");
  EXPECT_FALSE(fs::exists(dir + "/s.h5"));

  auto no_template = RunData({"import", "--tokenizer", SourcePath("tests/fixtures/models/gpt2"), "--input", in,
                              "--output", dir + "/t.h5"});
  EXPECT_EQ(no_template.exit_code, 1);
  auto bad_flag = RunData({"import", "--tokenizer", ByteTokenizerDir(), "--input", in, "--output", dir + "/u.h5",
                           "--overflow", "wrap"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_EQ(bad_flag.err, "egret-data import: overflow must be one of split, truncate, drop (got \"wrap\")\n");
}

}  // namespace
}  // namespace egret::testing
