#include "mpi_trainer/h5/h5.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <numeric>

static_assert(std::is_same_v<hid_t, egret::h5::Hid>, "hid_t must be a 64-bit id (HDF5 >= 1.10)");

namespace egret::h5 {
namespace {

// HDF5's error stack, innermost last, as one line ("...: truncated file: eof = 100").
std::string LibraryError() {
  std::vector<std::string> descs;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::vector<std::string>*>(data);
        if (e->desc && *e->desc && std::find(out->begin(), out->end(), e->desc) == out->end())
          out->push_back(e->desc);
        return 0;
      },
      &descs);
  H5Eclear2(H5E_DEFAULT);
  // The outermost frames say "unable to open file"; the last two carry the reason.
  if (descs.size() > 2) descs.erase(descs.begin(), descs.end() - 2);
  std::string s;
  for (const auto& d : descs) s += (s.empty() ? "" : ": ") + d;
  return s.empty() ? "unknown HDF5 error" : s;
}

Error Fail(const std::string& where, const std::string& what) {
  return Error(where + ": " + what + " (" + LibraryError() + ")");
}

template <typename T>
hid_t NativeType() {
  if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
  if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, uint8_t>) return H5T_NATIVE_UINT8;
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
}

// Stored types are little-endian IEEE/two's complement whatever the host is.
template <typename T>
hid_t FileType() {
  if constexpr (std::is_same_v<T, int32_t>) return H5T_STD_I32LE;
  if constexpr (std::is_same_v<T, int64_t>) return H5T_STD_I64LE;
  if constexpr (std::is_same_v<T, uint8_t>) return H5T_STD_U8LE;
  if constexpr (std::is_same_v<T, float>) return H5T_IEEE_F32LE;
  if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
}

Handle Utf8StringType() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

std::once_flag g_silence_once;

}  // namespace

void SilenceLibraryErrors() {
  std::call_once(g_silence_once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    Reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::Reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

Status Handle::Close() {
  if (id_ < 0) return Ok();
  int rc = close_ ? close_(id_) : 0;
  id_ = -1;
  if (rc < 0) return Error("close failed (" + LibraryError() + ")");
  return Ok();
}

std::string Group::Where(std::string_view child) const {
  std::string p = path_;
  if (!child.empty()) p += (p == "/" ? "" : "/") + std::string(child);
  return file_ + ":" + p;
}

Result<Group> Group::CreateGroup(const std::string& name) {
  hid_t g = H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return Fail(Where(name), "cannot create group");
  return Group(Handle(g, H5Gclose), file_, Where(name).substr(file_.size() + 1));
}

Result<Group> Group::OpenGroup(const std::string& name) const {
  if (!Has(name)) return Error(Where(name) + ": no such group");
  hid_t g = H5Gopen2(id(), name.c_str(), H5P_DEFAULT);
  if (g < 0) return Fail(Where(name), "cannot open group");
  return Group(Handle(g, H5Gclose), file_, Where(name).substr(file_.size() + 1));
}

bool Group::Has(const std::string& name) const {
  // H5Lexists needs every intermediate link to exist, so check the path one step at a time.
  std::string prefix;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    prefix = name.substr(0, slash);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

Result<std::vector<std::string>> Group::Children() const {
  std::vector<std::string> names;
  herr_t rc = H5Literate(
      id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &names);
  if (rc < 0) return Fail(Where(), "cannot list children");
  return names;
}

// ---- attributes ----

namespace {

Result<Handle> NewAttr(const Group& g, const std::string& name, hid_t type) {
  if (H5Aexists(g.id(), name.c_str()) > 0) H5Adelete(g.id(), name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  hid_t a = H5Acreate2(g.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return Fail(g.Where() + " attribute " + name, "cannot create");
  return Handle(a, H5Aclose);
}

Result<Handle> OpenAttr(const Group& g, const std::string& name) {
  if (H5Aexists(g.id(), name.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return Error(g.Where() + ": missing attribute '" + name + "'");
  }
  hid_t a = H5Aopen(g.id(), name.c_str(), H5P_DEFAULT);
  if (a < 0) return Fail(g.Where() + " attribute " + name, "cannot open");
  return Handle(a, H5Aclose);
}

template <typename T>
Status WriteScalarAttr(const Group& g, const std::string& name, T value) {
  EGRET_ASSIGN_OR_RETURN(Handle a, NewAttr(g, name, FileType<T>()));
  if (H5Awrite(a.id(), NativeType<T>(), &value) < 0) return Fail(g.Where() + " attribute " + name, "cannot write");
  return Ok();
}

template <typename T>
Result<T> ReadScalarAttr(const Group& g, const std::string& name, H5T_class_t want) {
  EGRET_ASSIGN_OR_RETURN(Handle a, OpenAttr(g, name));
  Handle type(H5Aget_type(a.id()), H5Tclose);
  if (H5Tget_class(type.id()) != want)
    return Error(g.Where() + ": attribute '" + name + "' has the wrong type (expected " +
                 (want == H5T_INTEGER ? "an integer" : "a float") + ")");
  T value{};
  if (H5Aread(a.id(), NativeType<T>(), &value) < 0) return Fail(g.Where() + " attribute " + name, "cannot read");
  return value;
}

}  // namespace

Status Group::SetAttr(const std::string& name, std::string_view value) {
  Handle type = Utf8StringType();
  EGRET_ASSIGN_OR_RETURN(Handle a, NewAttr(*this, name, type.id()));
  std::string copy(value);
  const char* p = copy.c_str();
  if (H5Awrite(a.id(), type.id(), &p) < 0) return Fail(Where() + " attribute " + name, "cannot write");
  return Ok();
}
Status Group::SetAttr(const std::string& name, int64_t value) { return WriteScalarAttr(*this, name, value); }
Status Group::SetAttr(const std::string& name, double value) { return WriteScalarAttr(*this, name, value); }

bool Group::HasAttr(const std::string& name) const {
  htri_t r = H5Aexists(id(), name.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

Result<std::string> Group::StringAttr(const std::string& name) const {
  EGRET_ASSIGN_OR_RETURN(Handle a, OpenAttr(*this, name));
  Handle stored(H5Aget_type(a.id()), H5Tclose);
  if (H5Tget_class(stored.id()) != H5T_STRING)
    return Error(Where() + ": attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(stored.id()) > 0) {
    Handle type = Utf8StringType();
    char* p = nullptr;
    if (H5Aread(a.id(), type.id(), &p) < 0) return Fail(Where() + " attribute " + name, "cannot read");
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  // Fixed-length strings (as other writers may produce).
  size_t n = H5Tget_size(stored.id());
  std::string s(n, '\0');
  if (H5Aread(a.id(), stored.id(), s.data()) < 0) return Fail(Where() + " attribute " + name, "cannot read");
  s.resize(std::strlen(s.c_str()));
  return s;
}

Result<int64_t> Group::IntAttr(const std::string& name) const {
  return ReadScalarAttr<int64_t>(*this, name, H5T_INTEGER);
}
Result<double> Group::DoubleAttr(const std::string& name) const {
  return ReadScalarAttr<double>(*this, name, H5T_FLOAT);
}

// ---- datasets ----

template <Element T>
Status Group::Write(const std::string& name, const T* data, const std::vector<uint64_t>& dims,
                    uint64_t chunk_rows) {
  std::vector<hsize_t> hd(dims.begin(), dims.end());
  Handle space(H5Screate_simple(static_cast<int>(hd.size()), hd.data(), nullptr), H5Sclose);
  if (!space.valid()) return Fail(Where(name), "bad shape");
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  uint64_t total = std::accumulate(dims.begin(), dims.end(), uint64_t{1}, std::multiplies<>());
  if (chunk_rows > 0 && !dims.empty() && total > 0) {
    std::vector<hsize_t> chunk = hd;
    chunk[0] = std::min<hsize_t>(chunk_rows, hd[0]);
    H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data());
  }
  hid_t d = H5Dcreate2(id(), name.c_str(), FileType<T>(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT);
  if (d < 0) return Fail(Where(name), "cannot create dataset");
  Handle ds(d, H5Dclose);
  if (total > 0 && H5Dwrite(d, NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    return Fail(Where(name), "cannot write dataset");
  return ds.Close();
}

Result<std::vector<uint64_t>> Group::Shape(const std::string& name) const {
  if (!Has(name)) return Error(Where(name) + ": missing dataset");
  Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) return Fail(Where(name), "cannot open dataset");
  Handle space(H5Dget_space(ds.id()), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) return Fail(Where(name), "cannot read shape");
  std::vector<hsize_t> hd(rank);
  H5Sget_simple_extent_dims(space.id(), hd.data(), nullptr);
  return std::vector<uint64_t>(hd.begin(), hd.end());
}

template <Element T>
Result<std::vector<T>> Group::Read(const std::string& name, std::vector<uint64_t>* dims) const {
  EGRET_ASSIGN_OR_RETURN(std::vector<uint64_t> shape, Shape(name));
  Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) return Fail(Where(name), "cannot open dataset");
  uint64_t total = std::accumulate(shape.begin(), shape.end(), uint64_t{1}, std::multiplies<>());
  std::vector<T> out(total);
  if (total > 0 && H5Dread(ds.id(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    return Fail(Where(name), "cannot read dataset");
  if (dims) *dims = shape;
  return out;
}

template <Element T>
Status Group::ReadRows(const std::string& name, uint64_t first, uint64_t count, T* out) const {
  EGRET_ASSIGN_OR_RETURN(std::vector<uint64_t> shape, Shape(name));
  if (shape.empty() || first + count > shape[0])
    return Error(Where(name) + ": rows " + std::to_string(first) + ".." + std::to_string(first + count) +
                 " are outside the dataset (" + std::to_string(shape.empty() ? 0 : shape[0]) + " rows)");
  if (count == 0) return Ok();
  Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) return Fail(Where(name), "cannot open dataset");
  Handle file_space(H5Dget_space(ds.id()), H5Sclose);
  std::vector<hsize_t> start(shape.size(), 0), cnt(shape.begin(), shape.end());
  start[0] = first;
  cnt[0] = count;
  H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr);
  Handle mem_space(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), H5Sclose);
  if (H5Dread(ds.id(), NativeType<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, out) < 0)
    return Fail(Where(name), "cannot read rows");
  return Ok();
}

#define EGRET_H5_INSTANTIATE(T)                                                                   \
  template Status Group::Write<T>(const std::string&, const T*, const std::vector<uint64_t>&,     \
                                  uint64_t);                                                      \
  template Result<std::vector<T>> Group::Read<T>(const std::string&, std::vector<uint64_t>*) const; \
  template Status Group::ReadRows<T>(const std::string&, uint64_t, uint64_t, T*) const;
EGRET_H5_INSTANTIATE(int32_t)
EGRET_H5_INSTANTIATE(int64_t)
EGRET_H5_INSTANTIATE(uint8_t)
EGRET_H5_INSTANTIATE(float)
EGRET_H5_INSTANTIATE(double)
#undef EGRET_H5_INSTANTIATE

// ---- files ----

Result<File> File::Create(const std::string& path) {
  SilenceLibraryErrors();
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return Fail(path, "cannot create HDF5 file");
  File file;
  file.h_ = Handle(f, H5Fclose);
  file.file_ = path;
  file.path_ = "/";
  return file;
}

Result<File> File::Open(const std::string& path, bool writable) {
  SilenceLibraryErrors();
  htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    std::string why = LibraryError();
    if (why.find("unable to open file") != std::string::npos && why.find("No such file") != std::string::npos)
      return Error(path + ": no such file");
    return Error(path + ": not a readable HDF5 file (truncated or corrupt?) (" + why + ")");
  }
  hid_t f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return Fail(path, "not a readable HDF5 file (truncated or corrupt?)");
  File file;
  file.h_ = Handle(f, H5Fclose);
  file.file_ = path;
  file.path_ = "/";
  return file;
}

Status File::Flush() {
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) return Fail(file_, "flush failed");
  return Ok();
}

}  // namespace egret::h5
