// rendezvous — stateless address-validation cookies (docs/PROTOCOL.md §4.10, §9).
//
// A cookie is a keyed MAC over (source IP, source port, time window), truncated to 16 bytes,
// like a QUIC Retry token or a DTLS HelloVerifyRequest cookie: the server stores nothing per
// source until that source echoes a cookie, which proves it receives at the address it claims.
// The key is random at start. A cookie minted in window w is accepted in w and w + 1, so it
// lives between one and two windows.
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
    /// `window`: how long one time window lasts. A random key is drawn from libsodium.
    explicit Cookies(std::chrono::milliseconds window);

    /// The cookie for `from` in the window holding `now`.
    [[nodiscard]] netcore::protocol::Cookie make(netcore::Address from, TimePoint now) const;

    /// True when `cookie` was minted for exactly `from` in the current or the previous window.
    [[nodiscard]] bool valid(const netcore::protocol::Cookie& cookie, netcore::Address from,
                             TimePoint now) const;

  private:
    [[nodiscard]] std::uint64_t window_of(TimePoint now) const;
    [[nodiscard]] netcore::protocol::Cookie mac(netcore::Address from, std::uint64_t window) const;

    std::chrono::milliseconds window_;
    std::array<std::uint8_t, 32> key_{};  // crypto_auth_KEYBYTES
};

}  // namespace rendezvous
