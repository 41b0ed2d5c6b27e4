// Relay grants: pair records for renewals, and the per-IP and per-name grant buckets.
#include "relay_grants.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "crypto.hpp"  // netcore's libsodium wrappers: init, random_bytes

namespace rendezvous {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

RelayGrants::RelayGrants(GrantLimits limits) : limits_(limits) {
    netcore::crypto::init();
    netcore::crypto::random_bytes(key_);
}

std::string RelayGrants::pair_id(std::uint64_t token) const {
    std::array<std::uint8_t, 8> in{};
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint8_t>(token >> (8 * i));
    std::array<std::uint8_t, crypto_shorthash_BYTES> hash{};
    crypto_shorthash(hash.data(), in.data(), in.size(), key_.data());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const auto b : hash) {
        out += kHex[b >> 4];
        out += kHex[b & 0x0F];
    }
    return out;
}

template <typename K>
TokenBucket& RelayGrants::Buckets<K>::at(const K& key, double burst, TimePoint now,
                                         std::size_t max) {
    if (const auto it = by_key_.find(key); it != by_key_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->second;
    }
    if (by_key_.size() >= max) {
        // A forgotten key comes back with a full bucket: one burst more, after max others.
        by_key_.erase(lru_.back().first);
        lru_.pop_back();
    }
    lru_.emplace_front(key, TokenBucket{burst, now});
    by_key_.emplace(key, lru_.begin());
    return lru_.front().second;
}

bool RelayGrants::admit(std::uint32_t ip, std::string_view name, TimePoint now) {
    // Both buckets refill first; one token is then taken from each only if both have one, so a
    // refusal by one never spends the other's.
    const auto refill = [now](TokenBucket& t, double rate, double burst) {
        if (now <= t.last) return;
        const std::chrono::duration<double> elapsed = now - t.last;
        t.tokens = std::min(burst, t.tokens + elapsed.count() * rate);
        t.last = now;
    };
    auto& a = by_ip_.at(ip, limits_.ip_burst, now, limits_.max_keys);
    auto& b = by_name_.at(std::string(name), limits_.name_burst, now, limits_.max_keys);
    refill(a, limits_.ip_rate, limits_.ip_burst);
    refill(b, limits_.name_rate, limits_.name_burst);
    if (a.tokens < 1 || b.tokens < 1) return false;
    a.tokens -= 1;
    b.tokens -= 1;
    return true;
}

RelayGrants::Key RelayGrants::key_of(std::string_view a, std::string_view b) {
    if (b < a) std::swap(a, b);
    return {std::string(a), std::string(b)};
}

GrantRecord* RelayGrants::find(std::string_view a, std::string_view b, TimePoint now) {
    const auto it = records_.find(key_of(a, b));
    return it == records_.end() || now >= it->second.until ? nullptr : &it->second;
}

GrantRecord* RelayGrants::add(std::string_view initiator, std::string_view responder,
                              std::uint64_t token, TimePoint now) {
    auto key = key_of(initiator, responder);
    const auto it = records_.find(key);
    if (it == records_.end() && records_.size() >= limits_.max_records) {
        sweep(now);
        if (records_.size() >= limits_.max_records) return nullptr;
    }
    GrantRecord r;
    r.token = token;
    r.pair_id = pair_id(token);
    r.initiator = std::string(initiator);
    r.responder = std::string(responder);
    r.until = now;
    return &records_.insert_or_assign(std::move(key), std::move(r)).first->second;
}

std::size_t RelayGrants::sweep(TimePoint now) {
    std::size_t n = 0;
    for (auto it = records_.begin(); it != records_.end();) {
        if (now >= it->second.until) {
            it = records_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    return n;
}

}  // namespace rendezvous
