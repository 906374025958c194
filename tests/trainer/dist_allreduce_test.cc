// Runs under `mpirun -np 2`: the communicator's collectives give the sums a
// hand computation gives, whatever the rank count.
#include <cstdlib>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "mpi_trainer/dist/comm.h"

namespace egret::trainer {
namespace {

Communicator& World() {
  static auto comm = MakeMpiCommunicator();
  return *comm;
}

TEST(MpiComm, WorldMatchesLauncher) {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  ASSERT_NE(size, nullptr) << "run this test under mpirun";
  EXPECT_EQ(World().size(), std::atoi(size));
  EXPECT_GE(World().size(), 2);
}

TEST(MpiComm, AllReduceSumsEveryElement) {
  const int n = World().size();
  std::vector<float> v(1 << 20);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((World().rank() + 1) * (i % 7));
  World().AllReduceSum(v.data(), v.size());
  const float ranks_sum = n * (n + 1) / 2.0f;  // 1 + 2 + ... + n
  for (size_t i = 0; i < v.size(); i += 4099) ASSERT_FLOAT_EQ(v[i], ranks_sum * (i % 7)) << i;
  std::vector<double> d = {World().rank() * 0.5};
  World().AllReduceSum(d.data(), d.size());
  EXPECT_DOUBLE_EQ(d[0], 0.5 * n * (n - 1) / 2.0);
}

TEST(MpiComm, BroadcastAndAgreement) {
  std::vector<int> data(1000, World().rank() == 0 ? 17 : -1);
  World().Broadcast(data.data(), data.size() * sizeof(int), 0);
  EXPECT_EQ(std::accumulate(data.begin(), data.end(), 0), 17000);
  EXPECT_TRUE(World().AnyTrue(World().rank() == World().size() - 1));
  EXPECT_FALSE(World().AnyTrue(false));
}

}  // namespace
}  // namespace egret::trainer

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  egret::trainer::World();  // MPI_Init before any test
  return RUN_ALL_TESTS();
}
