// Counts heap allocations (global operator new) over a scope, to show that a hot path makes
// none. The replacement operators live in allocation_counter.cpp, linked into the test.
#pragma once

#include <cstddef>

namespace test_support {

/// Counts the operator new calls made while it lives. Not thread-safe: one at a time.
class CountAllocations {
  public:
    CountAllocations();
    ~CountAllocations();
    CountAllocations(const CountAllocations&) = delete;
    CountAllocations& operator=(const CountAllocations&) = delete;

    [[nodiscard]] std::size_t count() const;
};

}  // namespace test_support
