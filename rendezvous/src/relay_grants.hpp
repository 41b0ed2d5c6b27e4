// rendezvous — relay grants (PROTOCOL.md §4.11): TURN credentials scoped to one introduction.
//
// A grant is the TURN-REST credential one side of an introduction gets: its username names the
// side and the introduction ("<expiry>:<name>.<pair id>"), it lives minutes, and it is renewed
// (RelayRenew) while the session lives. This file keeps what that needs, apart from the pending
// introductions (introductions.hpp), whose 30 s memory is far shorter than a session:
//   - one record per pair of names granted a relay: the introduction's token (a renewal must show
//     it), its pair id, and each side's current expiry, kept until the pair's last credential
//     expires; a renewal extends it;
//   - token buckets per source IP and per name, so that no source and no name gets more than a
//     few credentials a minute, however many names or introductions it makes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "rate_limiter.hpp"  // TokenBucket
#include "registry.hpp"      // TimePoint

namespace rendezvous {

/// The limits on grants. Defaults are the command line's (docs/RENDEZVOUS.md).
struct GrantLimits {
    /// Per source IP: a few players behind one NAT (a LAN party, a café) introduced at once,
    /// then each a few times a minute, and each live relayed session renewing every 5 minutes.
    /// One IP then holds at most 20 + 0.2 x 600 = 140 valid credentials at the default TTL.
    double ip_rate = 0.2;  ///< grants a second, sustained (12 a minute)
    double ip_burst = 20;  ///< grants at once
    /// Per name: one player's introductions (a grant each) and renewals (one per session every
    /// half credential lifetime).
    double name_rate = 0.1;            ///< grants a second, sustained (6 a minute)
    double name_burst = 6;             ///< grants at once
    std::size_t max_keys = 65536;      ///< IPs and names whose buckets are remembered, each
    std::size_t max_records = 100000;  ///< pairs remembered for renewals (~200 bytes each)
};

/// One pair's grant: what a renewal is checked against.
struct GrantRecord {
    std::uint64_t token = 0;  ///< of the introduction the grant was made for
    std::string pair_id;      ///< in every username of the pair: 16 hex digits
    std::string initiator;    ///< names, as in the introduction
    std::string responder;
    std::int64_t initiator_expiry = 0;  ///< unix seconds of the side's credential; 0: refused
    std::int64_t responder_expiry = 0;
    TimePoint until{};  ///< renewals are accepted until then: the pair's last credential expires
};

class RelayGrants {
  public:
    explicit RelayGrants(GrantLimits limits);

    /// The pair id of the introduction with `token`: SipHash-2-4 of the token under a key drawn
    /// for this run, 16 hex digits. It names the introduction in the TURN server's logs and
    /// quotas without telling anything about the token, which stays secret.
    [[nodiscard]] std::string pair_id(std::uint64_t token) const;

    /// One grant to `name` at `ip`: true, and a token taken from both buckets, if both hold one.
    bool admit(std::uint32_t ip, std::string_view name, TimePoint now);

    /// The record of `a` and `b` (either order) whose credentials have not all expired, or null.
    [[nodiscard]] GrantRecord* find(std::string_view a, std::string_view b, TimePoint now);

    /// A record for a new introduction, replacing the pair's older one. Null when the table
    /// holds max_records other pairs.
    GrantRecord* add(std::string_view initiator, std::string_view responder, std::uint64_t token,
                     TimePoint now);

    /// Drops the records whose credentials all expired. Returns how many.
    std::size_t sweep(TimePoint now);

    [[nodiscard]] std::size_t size() const { return records_.size(); }

  private:
    using Key = std::pair<std::string, std::string>;  // first < second
    static Key key_of(std::string_view a, std::string_view b);

    // Token buckets keyed by IP or name, bounded by forgetting the least recently used.
    template <typename K>
    class Buckets {
      public:
        TokenBucket& at(const K& key, double burst, TimePoint now, std::size_t max);

      private:
        std::list<std::pair<K, TokenBucket>> lru_;  // most recently used first
        std::unordered_map<K, typename std::list<std::pair<K, TokenBucket>>::iterator> by_key_;
    };

    GrantLimits limits_;
    std::array<std::uint8_t, 16> key_{};  // SipHash key for pair ids: this run's
    Buckets<std::uint32_t> by_ip_;
    Buckets<std::string> by_name_;
    std::map<Key, GrantRecord> records_;
};

}  // namespace rendezvous
