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
// The MAC is the expensive part of a refresh (a fifth of the server's time, docs/PERFORMANCE.md),
// and a registered client sends the same cookie again and again until it expires. So valid() also
// hands out a tag: a 64-bit keyed fingerprint of the cookie and the address, under a second key
// of the cookie's window. The registry keeps the tag of the cookie that last proved an entry's
// address, and seen() recognises that cookie again for a few nanoseconds instead of a MAC.
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
    /// A cookie's fingerprint: SipHash-2-4 of (cookie, address) under its window's tag key.
    using Tag = std::uint64_t;

    /// `window`: how long one time window lasts. Keys are drawn from libsodium's random source.
    explicit Cookies(std::chrono::milliseconds window);

    /// The cookie for `from` in the window holding `now`.
    [[nodiscard]] netcore::protocol::Cookie make(netcore::Address from, TimePoint now);

    /// True when `cookie` was minted for exactly `from` in the current or the previous window;
    /// then `*tag`, if given, is set to the cookie's tag (for seen()).
    /// The current window is the latest `now` seen: time never goes back for cookies.
    [[nodiscard]] bool valid(const netcore::protocol::Cookie& cookie, netcore::Address from,
                             TimePoint now, Tag* tag = nullptr);

    /// True when `tag` is what valid() gave for this very `cookie` and `from`, and the cookie is
    /// still valid (its window is the current or the previous one). No MAC is computed: one or
    /// two SipHashes. A tag of a cookie whose window ended matches nothing (but by a 2^-64 chance),
    /// as its tag key is gone with its MAC key.
    [[nodiscard]] bool seen(Tag tag, const netcore::protocol::Cookie& cookie, netcore::Address from,
                            TimePoint now);

  private:
    using Key = std::array<std::uint8_t, 32>;     // crypto_auth_KEYBYTES
    using TagKey = std::array<std::uint8_t, 16>;  // crypto_shorthash_KEYBYTES
    /// One window's secrets: the cookie MAC key and the tag key, drawn together.
    struct Keys {
        Key mac{};
        TagKey tag{};
    };

    [[nodiscard]] std::uint64_t window_of(TimePoint now) const;
    /// Moves to the window holding `now` (if later), drawing its key. Returns the current window.
    std::uint64_t rotate(TimePoint now);
    [[nodiscard]] static netcore::protocol::Cookie mac(const Key& key, netcore::Address from,
                                                       std::uint64_t window);
    [[nodiscard]] static Tag tag_of(const TagKey& key, const netcore::protocol::Cookie& cookie,
                                    netcore::Address from);
    static void draw(Keys& keys);

    std::chrono::milliseconds window_;
    std::uint64_t current_window_ = 0;
    Keys current_;
    Keys previous_;
};

}  // namespace rendezvous
