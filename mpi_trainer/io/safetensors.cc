#include "mpi_trainer/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace egret::trainer::io {

namespace {

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DTypeEntry {
  const char* name;
  DType dtype;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::kF64, 8},   {"F32", DType::kF32, 4},        {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2}, {"I64", DType::kI64, 8},        {"I32", DType::kI32, 4},
    {"I16", DType::kI16, 2},   {"I8", DType::kI8, 1},          {"U8", DType::kU8, 1},
    {"BOOL", DType::kBool, 1}, {"F8_E4M3", DType::kF8E4M3, 1}, {"F8_E5M2", DType::kF8E5M2, 1},
};

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string Range(uint64_t a, uint64_t b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
}

Result<TensorInfo> ParseEntry(const std::string& name, const nlohmann::json& v,
                              const std::string& where) {
  TensorInfo t;
  t.name = name;
  if (!v.is_object()) return Error(where + ": must be an object with dtype, shape, data_offsets");
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) return Error(where + ": missing \"dtype\" string");
  const std::string dname = dt->get<std::string>();
  auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                            [&](const DTypeEntry& e) { return dname == e.name; });
  if (known == std::end(kDTypes))
    return Error(where + ": unknown dtype " + Quote(dname) +
                 " (the format defines F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, "
                 "F8_E4M3, F8_E5M2)");
  t.dtype = known->dtype;
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) return Error(where + ": missing \"shape\" list");
  for (const auto& d : *sh) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return Error(where + ": \"shape\" must be a list of non-negative integers");
    t.shape.push_back(d.get<int64_t>());
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    return Error(where + ": \"data_offsets\" must be two non-negative integers [begin, end]");
  t.begin = (*off)[0].get<uint64_t>();
  t.end = (*off)[1].get<uint64_t>();
  if (t.end < t.begin)
    return Error(where + ": data_offsets " + Range(t.begin, t.end) + " end before they begin");
  // numel * size, with overflow checked: a crafted shape must not wrap around.
  unsigned __int128 bytes = known->size;
  for (int64_t d : t.shape) {
    bytes *= static_cast<uint64_t>(d);
    if (bytes > std::numeric_limits<uint64_t>::max())
      return Error(where + ": shape " + ShapeString(t.shape) + " is too large");
  }
  if (static_cast<uint64_t>(bytes) != t.end - t.begin)
    return Error(where + ": shape " + ShapeString(t.shape) + " x " + dname + " needs " +
                 std::to_string(static_cast<uint64_t>(bytes)) + " bytes but data_offsets " +
                 Range(t.begin, t.end) + " hold " + std::to_string(t.end - t.begin));
  return t;
}

}  // namespace

const char* DTypeName(DType d) {
  for (const auto& e : kDTypes)
    if (e.dtype == d) return e.name;
  return "?";
}

size_t DTypeSize(DType d) {
  for (const auto& e : kDTypes)
    if (e.dtype == d) return e.size;
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float BF16ToF32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t F32ToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu))  // NaN stays NaN
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

float F16ToF32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Result<std::vector<TensorInfo>> ParseHeader(std::string_view header_json, uint64_t data_size,
                                            const std::string& file,
                                            std::map<std::string, std::string>* metadata) {
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_json);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann counts bytes from 1; an error past the last byte means the text was cut short.
    if (e.byte > header_json.size())
      return Error(file + ": header is not valid JSON (it ends early, after " +
                   std::to_string(header_json.size()) + " bytes)");
    return Error(file + ": header is not valid JSON (parse error at byte " +
                 std::to_string(e.byte) + " of " + std::to_string(header_json.size()) + ")");
  }
  if (!header.is_object()) return Error(file + ": header must be a JSON object");
  std::vector<TensorInfo> tensors;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object())
        return Error(file + ": \"__metadata__\" must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          return Error(file + ": \"__metadata__\" value " + Quote(m.key()) + " must be a string");
        if (metadata) (*metadata)[m.key()] = m->get<std::string>();
      }
      continue;
    }
    EGRET_ASSIGN_OR_RETURN(TensorInfo t,
                           ParseEntry(it.key(), *it, file + ": tensor " + Quote(it.key())));
    if (t.end > data_size)
      return Error(file + ": tensor " + Quote(t.name) + ": data_offsets " + Range(t.begin, t.end) +
                   " lie outside the data section (" + std::to_string(data_size) +
                   " bytes after the header); the file may be truncated");
    tensors.push_back(std::move(t));
  }
  // The tensors must tile the data section exactly: sorted by offset, each begins where the
  // previous ends. Anything else is an overlap (two tensors aliasing bytes) or a gap.
  std::vector<const TensorInfo*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin < pos)
      return Error(file + ": tensor " + Quote(t->name) + ": data_offsets " +
                   Range(t->begin, t->end) + " overlap tensor " + Quote(prev->name) + " " +
                   Range(prev->begin, prev->end));
    if (t->begin > pos)
      return Error(file + ": tensor " + Quote(t->name) + ": data_offsets " +
                   Range(t->begin, t->end) + " leave a gap of " + std::to_string(t->begin - pos) +
                   " bytes " +
                   (prev ? "after tensor " + Quote(prev->name) : std::string("at the start")));
    pos = t->end;
    prev = t;
  }
  if (pos != data_size)
    return Error(file + ": " + std::to_string(data_size - pos) +
                 " bytes after the last tensor belong to no tensor (data section is " +
                 std::to_string(data_size) + " bytes, tensors end at " + std::to_string(pos) + ")");
  return tensors;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Error(path + ": cannot stat: " + std::strerror(e));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return Error(path + ": file is " + std::to_string(size) +
                 " bytes; a safetensors file starts with an 8-byte header length");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) return Error(path + ": cannot map: " + std::strerror(map_errno));
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = static_cast<const uint8_t*>(map);
  f->map_size_ = size;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | f->map_[i];
  if (n > kMaxHeaderSize)
    return Error(path + ": header length " + std::to_string(n) + " is over the " +
                 std::to_string(kMaxHeaderSize) + "-byte limit (not a safetensors file?)");
  if (n > size - 8)
    return Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" +
                 std::to_string(size) + " bytes); the file may be truncated");
  std::string_view header(reinterpret_cast<const char*>(f->map_ + 8), n);
  EGRET_ASSIGN_OR_RETURN(f->tensors_, ParseHeader(header, size - 8 - n, path, &f->metadata_));
  f->data_ = f->map_ + 8 + n;
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(const_cast<uint8_t*>(map_), map_size_);
}

const TensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::ReadF32(const TensorInfo& t, float* out) const {
  const uint8_t* src = data_ + t.begin;
  const int64_t n = t.numel();
  switch (t.dtype) {
    case DType::kF32:
      std::memcpy(out, src, static_cast<size_t>(n) * 4);
      return Ok();
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = BF16ToF32(h);
      }
      return Ok();
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = F16ToF32(h);
      }
      return Ok();
    default:
      return Error(path_ + ": tensor " + Quote(t.name) + ": dtype " + DTypeName(t.dtype) +
                   " cannot be loaded as fp32 (supported: F32, F16, BF16)");
  }
}

Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        DType dtype, const std::map<std::string, std::string>& metadata) {
  if (dtype != DType::kF32 && dtype != DType::kBF16)
    return Error(path + ": can only write F32 or BF16 tensors (asked for " +
                 std::string(DTypeName(dtype)) + ")");
  const size_t esize = DTypeSize(dtype);
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (header.contains(t.name)) return Error(path + ": tensor " + Quote(t.name) + " written twice");
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    nlohmann::ordered_json e;
    e["dtype"] = DTypeName(dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + static_cast<uint64_t>(n) * esize};
    header[t.name] = e;
    offset += static_cast<uint64_t>(n) * esize;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error(tmp + ": cannot create: " + std::strerror(errno));
  auto write_all = [&](const void* p, size_t len) -> bool {
    const char* c = static_cast<const char*>(p);
    while (len > 0) {
      ssize_t w = ::write(fd, c, len);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      c += w;
      len -= static_cast<size_t>(w);
    }
    return true;
  };
  uint8_t len_bytes[8];
  uint64_t hn = h.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(hn >> (8 * i));
  bool ok = write_all(len_bytes, 8) && write_all(h.data(), h.size());
  std::vector<uint16_t> buf;
  for (const auto& t : tensors) {
    if (!ok) break;
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    if (dtype == DType::kF32) {
      ok = write_all(t.data, static_cast<size_t>(n) * 4);
    } else {
      buf.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) buf[i] = F32ToBF16(t.data[i]);
      ok = write_all(buf.data(), buf.size() * 2);
    }
  }
  if (!ok || fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error(path + ": write failed: " + std::strerror(e));
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error(path + ": cannot rename into place: " + std::strerror(e));
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  return SyncDirectory(dir.empty() ? "/" : dir);
}

}  // namespace egret::trainer::io
