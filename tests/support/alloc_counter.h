// Counts the heap allocations of the whole program by replacing operator
// new, for the tests and benchmarks that assert or report "no allocation per
// event". Include it in exactly one source file of a binary.
#ifndef VIGIL_TESTS_SUPPORT_ALLOC_COUNTER_H_
#define VIGIL_TESTS_SUPPORT_ALLOC_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace vigil::test_support {
inline std::atomic<uint64_t> g_allocations{0};
// Allocations made so far by this process.
inline uint64_t Allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace vigil::test_support

// GCC pairs the replaced operator new with free() across inlining and warns wrongly.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  vigil::test_support::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

#endif  // VIGIL_TESTS_SUPPORT_ALLOC_COUNTER_H_
