// The collectives data-parallel training needs, over MPI or (one rank) over nothing.
// The trainer talks only to this interface, so single-process runs and tests need no mpirun.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace egret::trainer {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place elementwise sum over all ranks.
  virtual void AllReduceSum(float* data, size_t n) = 0;
  virtual void AllReduceSum(double* data, size_t n) = 0;
  virtual void Broadcast(void* data, size_t bytes, int root) = 0;
  // True on every rank if it is true on any rank (e.g. "a stop signal arrived").
  virtual bool AnyTrue(bool local) = 0;
  virtual void Barrier() = 0;
  // Ranks on this rank's node (to share its cores among them).
  virtual int LocalSize() const { return 1; }
  // Sum of int64 counters over all ranks (exact, unlike float sums).
  virtual void AllReduceSum(int64_t* data, size_t n) = 0;
  // Where this rank runs, for logs: "rank 1/2 on n2".
  virtual std::string Describe() const = 0;
};

// Initialises MPI on first use (and finalises it at exit); works with mpirun and srun --mpi=pmix.
std::unique_ptr<Communicator> MakeMpiCommunicator();
// A world of one rank: every collective is the identity.
std::unique_ptr<Communicator> MakeLocalCommunicator();

}  // namespace egret::trainer
