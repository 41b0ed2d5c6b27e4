// Loss on loopback, for the tests that link tests/lossy_send.cpp: that file defines sendmsg(),
// which ENet's socket layer (and so every datagram a session sends) calls through the dynamic
// linker, so the test executable's definition is the one used. While a Loss is armed it drops
// a share of the datagrams between two ports (either way), each on its own draw; everything
// else, and everything while none is armed, goes to the kernel unchanged.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace lossy {

/// Decides for one datagram: true drops it. `from`, `to`: its UDP ports.
using Rule = std::function<bool(std::uint16_t from, std::uint16_t to)>;

/// Arms `rule` until the Loss is destroyed (one at a time). Not thread-safe: the tests step
/// their sessions in one thread.
class Loss {
  public:
    explicit Loss(Rule rule);
    ~Loss();
    Loss(const Loss&) = delete;
    Loss& operator=(const Loss&) = delete;
    /// Datagrams dropped and let through so far while armed.
    [[nodiscard]] std::size_t dropped() const;
    [[nodiscard]] std::size_t passed() const;
};

/// A rule that drops each datagram between ports `a` and `b` with probability `share` (0..1),
/// drawn from a generator seeded with `seed` (a failure repeats with the same seed).
Rule between(std::uint16_t a, std::uint16_t b, double share, std::uint32_t seed);

/// A rule that drops every datagram from port `from` to port `to` for `span` from its creation
/// (a path that is dead one way for a while).
Rule blackout_from(std::uint16_t from, std::uint16_t to, std::chrono::milliseconds span);

}  // namespace lossy
