// rendezvous — stateless address-validation cookies (docs/PROTOCOL.md §4.10, §9).
//
// A cookie is a keyed MAC over (source IP, source port, time window), truncated to 16 bytes,
// like a QUIC Retry token or a DTLS HelloVerifyRequest cookie: the server stores nothing per
// source until that source echoes a cookie, which proves it receives at the address it claims.
// Each window has its own random key, drawn when the window begins; only the current and the
// previous window's keys are kept. A cookie minted in window w is accepted in w and w + 1, so it
// lives between one and two windows, and a key that leaked (a memory disclosure, say) mints
// nothing usable two windows later.
//
// A refresh needs no cookie since wire version 2: it opens under the signal key kept with its
// name (PROTOCOL.md §9). A cookie is checked only where no key is known for the address yet.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"
#include "registry.hpp"  // TimePoint

namespace rendezvous {

class Cookies {
  public:
    /// `window`: how long one time window lasts. Keys are drawn from libsodium's random source.
    explicit Cookies(std::chrono::milliseconds window);

    /// The cookie for `from` in the window holding `now`.
    [[nodiscard]] netcore::protocol::Cookie make(netcore::Address from, TimePoint now);

    /// True when `cookie` was minted for exactly `from` in the current or the previous window.
    /// The current window is the latest `now` seen: time never goes back for cookies.
    [[nodiscard]] bool valid(const netcore::protocol::Cookie& cookie, netcore::Address from,
                             TimePoint now);

  private:
    using Key = std::array<std::uint8_t, 32>;  // crypto_auth_KEYBYTES: one window's MAC key

    [[nodiscard]] std::uint64_t window_of(TimePoint now) const;
    /// Moves to the window holding `now` (if later), drawing its key. Returns the current window.
    std::uint64_t rotate(TimePoint now);
    [[nodiscard]] static netcore::protocol::Cookie mac(const Key& key, netcore::Address from,
                                                       std::uint64_t window);
    static void draw(Key& key);

    std::chrono::milliseconds window_;
    std::uint64_t current_window_ = 0;
    Key current_{};
    Key previous_{};
};

}  // namespace rendezvous
