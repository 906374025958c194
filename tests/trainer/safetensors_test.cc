// safetensors reading, writing and validation: every malformed file gets an error naming the
// file, the tensor and what is wrong.
#include <cstdint>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "mpi_trainer/io/safetensors.h"
#include "mpi_trainer/io/weights.h"
#include "tests/trainer/test_util.h"

namespace egret::trainer::io {
namespace {

using testing::TempDir;

// Writes 8-byte length + header + data exactly as given, so any corruption can be crafted.
std::string Craft(const TempDir& dir, const std::string& header, const std::string& data,
                  int64_t claimed_len = -1) {
  const std::string path = dir / "x.safetensors";
  std::ofstream f(path, std::ios::binary);
  uint64_t n = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>(n >> (8 * i)));
  f << header << data;
  return path;
}

std::string OpenError(const std::string& path) {
  auto f = SafetensorsFile::Open(path);
  return f.ok() ? "(opened)" : f.error().message();
}

TEST(Safetensors, WritesF32AndBF16ThatReadBack) {
  TempDir dir("st");
  const float a[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f};
  // bf16 keeps 8 mantissa bits; halfway cases round to the even neighbour.
  const float b[4] = {1.0f, 1.00390625f /* 1 + 2^-8 -> 1 */, 1.01171875f /* 1 + 3*2^-8 -> 1 + 2^-6 */,
                      -3.0f};
  ASSERT_TRUE(WriteSafetensors(dir / "f.safetensors", {{"a", {2, 3}, a}, {"b.weight", {4}, b}}).ok());
  ASSERT_TRUE(WriteSafetensors(dir / "h.safetensors", {{"b.weight", {4}, b}}, DType::kBF16).ok());
  auto f = SafetensorsFile::Open(dir / "f.safetensors");
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  const TensorInfo* ta = (*f)->Find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ta->dtype, DType::kF32);
  float out[6];
  ASSERT_TRUE((*f)->ReadF32(*ta, out).ok());
  EXPECT_EQ(std::memcmp(out, a, sizeof(a)), 0);
  auto h = SafetensorsFile::Open(dir / "h.safetensors");
  ASSERT_TRUE(h.ok()) << h.error().message();
  const TensorInfo* tb = (*h)->Find("b.weight");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->dtype, DType::kBF16);
  EXPECT_EQ(tb->end - tb->begin, 8u);
  ASSERT_TRUE((*h)->ReadF32(*tb, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 1.015625f);
  EXPECT_EQ(out[3], -3.0f);
  // The data section starts 8-byte aligned, as the reference writer pads the header.
  std::ifstream raw(dir / "f.safetensors", std::ios::binary);
  uint64_t n = 0;
  raw.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, ConvertsF16IncludingSubnormals) {
  TempDir dir("st");
  // IEEE half: 1.0, -2.0, 2^-24 (smallest subnormal), 65504 (largest finite).
  const uint16_t h[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  std::string data(reinterpret_cast<const char*>(h), 8);
  auto path = Craft(dir, R"({"t":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", data);
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.error().message();
  float out[4];
  ASSERT_TRUE((*f)->ReadF32(*(*f)->Find("t"), out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 5.9604644775390625e-08f);
  EXPECT_EQ(out[3], 65504.0f);
}

TEST(Safetensors, RefusesAFileShorterThanTheLengthField) {
  TempDir dir("st");
  const std::string path = dir / "x.safetensors";
  std::ofstream(path) << "abcde";
  EXPECT_EQ(OpenError(path), path + ": file is 5 bytes; a safetensors file starts with an 8-byte header length");
}

TEST(Safetensors, RefusesAHeaderLengthPastTheEnd) {
  TempDir dir("st");
  auto path = Craft(dir, "{}", "", 1000);
  EXPECT_EQ(OpenError(path), path + ": header length 1000 runs past the end of the file (10 bytes); the file may be truncated");
}

TEST(Safetensors, RefusesAnAbsurdHeaderLength) {
  TempDir dir("st");
  auto path = Craft(dir, "{}", "", int64_t{1} << 40);
  EXPECT_EQ(OpenError(path), path + ": header length 1099511627776 is over the 100000000-byte limit (not a safetensors file?)");
}

TEST(Safetensors, RefusesAHeaderThatIsNotJson) {
  TempDir dir("st");
  auto path = Craft(dir, R"({"a": {"dtype": "F32",)", "");
  EXPECT_EQ(OpenError(path), path + ": header is not valid JSON (it ends early, after 22 bytes)");
  auto junk = Craft(dir, R"({"a": 1 2})", "");
  EXPECT_EQ(OpenError(junk), junk + ": header is not valid JSON (parse error at byte 9 of 10)");
}

TEST(Safetensors, RefusesOffsetsOutsideTheFile) {
  TempDir dir("st");
  auto path = Craft(dir, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));
  EXPECT_EQ(OpenError(path), path + ": tensor \"a\": data_offsets [0, 16] lie outside the data section (8 bytes after the header); the file may be truncated");
}

TEST(Safetensors, RefusesATruncatedFileNamingTheLastTensor) {
  TempDir dir("st");
  const float v[8] = {};
  const std::string path = dir / "m.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"first", {4}, v}, {"second", {4}, v}}).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  const std::string err = OpenError(path);
  EXPECT_EQ(err, path + ": tensor \"second\": data_offsets [16, 32] lie outside the data section (29 bytes after the header); the file may be truncated");
}

TEST(Safetensors, RefusesOverlappingTensors) {
  TempDir dir("st");
  auto path = Craft(dir,
                    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    std::string(12, '\0'));
  EXPECT_EQ(OpenError(path), path + ": tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" [0, 8]");
}

TEST(Safetensors, RefusesGapsAndTrailingBytes) {
  TempDir dir("st");
  auto gap = Craft(dir,
                   R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                   std::string(20, '\0'));
  EXPECT_EQ(OpenError(gap), gap + ": tensor \"b\": data_offsets [12, 20] leave a gap of 4 bytes after tensor \"a\"");
  auto tail = Craft(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(12, '\0'));
  EXPECT_EQ(OpenError(tail), tail + ": 4 bytes after the last tensor belong to no tensor (data section is 12 bytes, tensors end at 8)");
}

TEST(Safetensors, RefusesAnUnknownDtype) {
  TempDir dir("st");
  auto path = Craft(dir, R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}})", std::string(1, '\0'));
  EXPECT_EQ(OpenError(path), path + ": tensor \"a\": unknown dtype \"Q4\" (the format defines F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2)");
}

TEST(Safetensors, RefusesAShapeThatDoesNotMatchItsBytes) {
  TempDir dir("st");
  auto path = Craft(dir, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_EQ(OpenError(path), path + ": tensor \"a\": shape [3] x F32 needs 12 bytes but data_offsets [0, 8] hold 8");
}

TEST(Safetensors, RefusesMalformedEntriesAndMetadata) {
  TempDir dir("st");
  auto no_shape = Craft(dir, R"({"a":{"dtype":"F32","data_offsets":[0,0]}})", "");
  EXPECT_EQ(OpenError(no_shape), no_shape + ": tensor \"a\": missing \"shape\" list");
  auto neg = Craft(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", std::string(8, '\0'));
  EXPECT_EQ(OpenError(neg), neg + ": tensor \"a\": \"data_offsets\" must be two non-negative integers [begin, end]");
  auto meta = Craft(dir, R"({"__metadata__":{"format":1}})", "");
  EXPECT_EQ(OpenError(meta), meta + ": \"__metadata__\" value \"format\" must be a string");
}

TEST(Safetensors, ReadingAnIntegerTensorAsFloatIsAnError) {
  TempDir dir("st");
  auto path = Craft(dir, R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'));
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.error().message();
  float out[2];
  Status s = (*f)->ReadF32(*(*f)->Find("ids"), out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), path + ": tensor \"ids\": dtype I64 cannot be loaded as fp32 (supported: F32, F16, BF16)");
}

TEST(Weights, ReadsAShardedCheckpointThroughItsIndex) {
  auto w = WeightSource::Open(testing::FixtureDir("mistral_swa_sharded"));
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->entries().size(), 21u);
  const auto* e = w->Find("lm_head.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->file->path().find("model-0000"), std::string::npos);
  EXPECT_EQ(w->DTypeCounts().at("F32"), 21);
}

TEST(Weights, RefusesAnIndexThatPointsOutsideOrAtAMissingTensor) {
  TempDir dir("st");
  const float v[2] = {1, 2};
  ASSERT_TRUE(WriteSafetensors(dir / "a.safetensors", {{"x", {2}, v}}).ok());
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"y": "a.safetensors"}})";
  auto w = WeightSource::Open(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), (dir / "model.safetensors.index.json") +
                                     ": tensor \"y\" is mapped to a.safetensors, which does not contain it");
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"x": "../a.safetensors"}})";
  w = WeightSource::Open(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), (dir / "model.safetensors.index.json") +
                                     ": weight_map \"x\": shard \"../a.safetensors\" must be a file name in the model directory");
}

TEST(Weights, SaysWhatIsMissingInAModelDirectory) {
  TempDir dir("st");
  std::ofstream(dir / "pytorch_model.bin") << "x";
  auto w = WeightSource::Open(dir.path());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), dir.path() + ": no model.safetensors or model.safetensors.index.json "
                                              "(pytorch_model.bin is not read: save the model with safe_serialization=True)");
}

}  // namespace
}  // namespace egret::trainer::io
