// A small RAII wrapper over HDF5's serial C API, with errors as values that name the file and
// the object. Only what Egret's datasets and checkpoints need: groups, n-dimensional numeric
// datasets (whole or by rows along the first axis), and scalar attributes (strings, integers,
// doubles). Files written here are plain HDF5, readable by h5py.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace egret::h5 {

using Hid = int64_t;  // hid_t, without pulling hdf5.h into every includer

// Element types a dataset may hold; T is one of int32_t, int64_t, uint8_t, float, double.
template <typename T>
concept Element = std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t> ||
                  std::is_same_v<T, uint8_t> || std::is_same_v<T, float> ||
                  std::is_same_v<T, double>;

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  Handle(Hid id, int (*close)(Hid)) : id_(id), close_(close) {}
  ~Handle() { Reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Hid id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  Status Close();  // closes now, reporting a failure (files flush here)

 private:
  void Reset();
  Hid id_ = -1;
  int (*close_)(Hid) = nullptr;
};

// A file or a group: both hold datasets, groups and attributes. `where` names it in errors
// ("data.h5:/rows").
class Group {
 public:
  Group() = default;
  Group(Handle h, std::string file, std::string path)
      : h_(std::move(h)), file_(std::move(file)), path_(std::move(path)) {}

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string Where(std::string_view child = {}) const;
  Hid id() const { return h_.id(); }

  Result<Group> CreateGroup(const std::string& name);
  Result<Group> OpenGroup(const std::string& name) const;
  // True if a link NAME (which may be a/b/c) exists below this group.
  bool Has(const std::string& name) const;
  // Names of the direct children, in name order.
  Result<std::vector<std::string>> Children() const;

  Status SetAttr(const std::string& name, std::string_view value);
  Status SetAttr(const std::string& name, const char* value) { return SetAttr(name, std::string_view(value)); }
  Status SetAttr(const std::string& name, int64_t value);
  Status SetAttr(const std::string& name, double value);
  bool HasAttr(const std::string& name) const;
  Result<std::string> StringAttr(const std::string& name) const;
  Result<int64_t> IntAttr(const std::string& name) const;
  Result<double> DoubleAttr(const std::string& name) const;

  // Writes a dataset of shape DIMS (product = number of elements at DATA). chunk_rows > 0
  // stores it chunked by that many rows along the first axis (fast row reads).
  template <Element T>
  Status Write(const std::string& name, const T* data, const std::vector<uint64_t>& dims,
               uint64_t chunk_rows = 0);
  template <Element T>
  Status Write(const std::string& name, const std::vector<T>& data) {
    return Write(name, data.data(), {static_cast<uint64_t>(data.size())});
  }
  Result<std::vector<uint64_t>> Shape(const std::string& name) const;
  // Reads the whole dataset; its stored type is converted to T (HDF5 converts numerically).
  template <Element T>
  Result<std::vector<T>> Read(const std::string& name, std::vector<uint64_t>* dims = nullptr) const;
  // Reads COUNT rows starting at FIRST along the first axis into OUT (count x row size).
  template <Element T>
  Status ReadRows(const std::string& name, uint64_t first, uint64_t count, T* out) const;

 protected:
  Handle h_;
  std::string file_;
  std::string path_;
};

class File : public Group {
 public:
  // Creates (truncating) a file.
  static Result<File> Create(const std::string& path);
  // Opens an existing file read-only, or read-write with WRITABLE.
  static Result<File> Open(const std::string& path, bool writable = false);
  Status Flush();
  // Closes the file (every object opened from it must be closed first), reporting errors.
  Status Close() { return h_.Close(); }
};

// Quiets HDF5's own stderr error printing for the process; errors are reported as values.
void SilenceLibraryErrors();

}  // namespace egret::h5
