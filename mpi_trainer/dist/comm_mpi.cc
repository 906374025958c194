#include <mpi.h>
#include <unistd.h>

#include <cstdlib>

#include "mpi_trainer/dist/comm.h"

namespace egret::trainer {
namespace {

// MPI counts are int; large buffers go in chunks.
constexpr size_t kChunk = size_t{1} << 30;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void AllReduceSum(float* data, size_t n) override { Reduce(data, n, MPI_FLOAT); }
  void AllReduceSum(double* data, size_t n) override { Reduce(data, n, MPI_DOUBLE); }
  void AllReduceSum(int64_t* data, size_t n) override { Reduce(data, n, MPI_INT64_T); }
  int LocalSize() const override { return local_size_; }

  void Broadcast(void* data, size_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (size_t off = 0; off < bytes; off += kChunk) {
      size_t len = std::min(kChunk, bytes - off);
      MPI_Bcast(p + off, static_cast<int>(len), MPI_BYTE, root, MPI_COMM_WORLD);
    }
  }
  bool AnyTrue(bool local) override {
    int in = local ? 1 : 0, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return out != 0;
  }
  void Barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  std::string Describe() const override {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return "rank " + std::to_string(rank_) + "/" + std::to_string(size_) + " on " + host;
  }

 private:
  template <typename T>
  void Reduce(T* data, size_t n, MPI_Datatype type) {
    if (size_ == 1) return;
    size_t chunk = kChunk / sizeof(T);
    for (size_t off = 0; off < n; off += chunk) {
      size_t len = std::min(chunk, n - off);
      MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(len), type, MPI_SUM, MPI_COMM_WORLD);
    }
  }
  int rank_ = 0;
  int size_ = 1;
  int local_size_ = 1;
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void AllReduceSum(float*, size_t) override {}
  void AllReduceSum(double*, size_t) override {}
  void AllReduceSum(int64_t*, size_t) override {}
  void Broadcast(void*, size_t, int) override {}
  bool AnyTrue(bool local) override { return local; }
  void Barrier() override {}
  std::string Describe() const override { return "rank 0/1 (no MPI)"; }
};

}  // namespace

std::unique_ptr<Communicator> MakeMpiCommunicator() { return std::make_unique<MpiCommunicator>(); }
std::unique_ptr<Communicator> MakeLocalCommunicator() { return std::make_unique<LocalCommunicator>(); }

}  // namespace egret::trainer
