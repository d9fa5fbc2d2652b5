// Stand-in (see cuda_runtime.h): the grid, cluster and block groups the baselines use.
#pragma once
#include "cuda_runtime.h"
namespace cooperative_groups {
struct thread_block {
  void sync() const;
  unsigned thread_rank() const;
  unsigned size() const;
};
struct cluster_group {
  void sync() const;
  unsigned block_rank() const;
  unsigned num_blocks() const;
  unsigned thread_rank() const;
  dim3 block_index() const;
  template <class T> T* map_shared_rank(T* addr, unsigned rank) const;
  void barrier_arrive() const;
  void barrier_wait() const;
};
struct grid_group {
  void sync() const;
  unsigned long long thread_rank() const;
  unsigned long long num_blocks() const;
};
thread_block this_thread_block();
grid_group this_grid();
cluster_group this_cluster();
}  // namespace cooperative_groups
