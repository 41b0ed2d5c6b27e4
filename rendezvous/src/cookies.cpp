// Address-validation cookies: HMAC-SHA-512-256 (libsodium crypto_auth), truncated.
#include "cookies.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace rendezvous {

static_assert(crypto_auth_KEYBYTES == 32, "Cookies::Key holds one crypto_auth key");
static_assert(crypto_auth_BYTES >= netcore::protocol::kCookieSize, "a cookie is a truncated MAC");

namespace {

// The address as the cookie binds it: ip (4) | port (2), big-endian.
void put_address(std::uint8_t* out, netcore::Address from) {
    for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(from.ip >> (24 - 8 * i));
    out[4] = static_cast<std::uint8_t>(from.port >> 8);
    out[5] = static_cast<std::uint8_t>(from.port);
}

}  // namespace

Cookies::Cookies(std::chrono::milliseconds window) : window_(window) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    draw(current_);
    draw(previous_);
}

void Cookies::draw(Key& key) {
    crypto_auth_keygen(key.data());
}

std::uint64_t Cookies::window_of(TimePoint now) const {
    const auto since =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    return static_cast<std::uint64_t>(since.count() / window_.count());
}

std::uint64_t Cookies::rotate(TimePoint now) {
    // Time never goes back for cookies: a `now` before the current window counts as in it.
    const std::uint64_t w = window_of(now);
    if (w <= current_window_) return current_window_;
    // The keys of last window's cookies stay for one more window; older ones go.
    if (w == current_window_ + 1) {
        previous_ = current_;
    } else {
        draw(previous_);  // nobody holds a cookie of that window
    }
    draw(current_);
    current_window_ = w;
    return w;
}

netcore::protocol::Cookie Cookies::mac(const Key& key, netcore::Address from,
                                       std::uint64_t window) {
    // ip (4) | port (2) | window (8), big-endian: everything the cookie binds.
    std::array<std::uint8_t, 14> input{};
    put_address(input.data(), from);
    for (std::size_t i = 0; i < 8; ++i)
        input[6 + i] = static_cast<std::uint8_t>(window >> (56 - 8 * i));
    std::array<std::uint8_t, crypto_auth_BYTES> full{};
    crypto_auth(full.data(), input.data(), input.size(), key.data());
    netcore::protocol::Cookie out{};
    std::copy_n(full.begin(), out.size(), out.begin());
    return out;
}

netcore::protocol::Cookie Cookies::make(netcore::Address from, TimePoint now) {
    return mac(current_, from, rotate(now));
}

bool Cookies::valid(const netcore::protocol::Cookie& cookie, netcore::Address from, TimePoint now) {
    const std::uint64_t w = rotate(now);
    // Constant time, so the answer's timing tells an attacker nothing about a partial match.
    const auto matches = [&](const Key& key, std::uint64_t window) {
        const auto expected = mac(key, from, window);
        return sodium_memcmp(expected.data(), cookie.data(), cookie.size()) == 0;
    };
    return matches(current_, w) || (w > 0 && matches(previous_, w - 1));
}

}  // namespace rendezvous
