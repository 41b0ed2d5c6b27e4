// Replaces the global operator new/delete (all but the aligned forms, which keep the runtime's
// pair) with malloc/free plus a counter (see the header).
// In a file of its own: inlined into a test, GCC takes the pairing for a mismatch.
#include "allocation_counter.hpp"

#include <cstdlib>
#include <new>

namespace {
bool counting = false;
std::size_t allocations = 0;
}  // namespace

namespace test_support {

CountAllocations::CountAllocations() {
    allocations = 0;
    counting = true;
}
CountAllocations::~CountAllocations() {
    counting = false;
}
std::size_t CountAllocations::count() const {
    return allocations;
}

}  // namespace test_support

void* operator new(std::size_t size) {
    if (counting) ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return operator new(size);
}
// The nothrow forms too (Catch uses them): every form here must pair with free().
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    if (counting) ++allocations;
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
