// rendezvous — the party table (docs/PROTOCOL.md §4.15).
//
// A party is a name players join: its members in the order they joined (the first is the host),
// an epoch that grows on every change of that list, and, for a party whose host admits
// (PartyFlags::admit), the player runs the host let in and the join asks waiting for it. A player
// is a member of at most one party; a party with no member is forgotten at once.
//
// Every pair of members has consented to each other (joining is consent). Their introduction's
// token is not stored: it is a keyed hash (SipHash-2-4 under this run's key) of the party's run
// id and the two members' join serials, so it is the same for as long as both stay in, costs no
// memory per pair, and is as unguessable as a random one. Nothing here reads a clock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "netcore/keys.hpp"
#include "registry.hpp"  // Name, TimePoint

namespace rendezvous {

/// The caps on parties. Defaults are the command line's (docs/RENDEZVOUS.md).
struct PartyLimits {
    /// Members of one party (--max-party-members), at most protocol::kMaxPartyMembers.
    std::size_t max_members = 16;
    /// Parties at once (--max-parties). Each costs ~200 bytes and ~100 a member.
    std::size_t max_parties = 10000;
    /// Parties alive that players at one source IP created (--max-parties-per-ip). A player is
    /// in one party at a time, so an honest IP holds as many as players behind it started; 8
    /// leaves room for a household or a café, and makes filling the table take 1 250 IPs.
    std::size_t max_per_ip = 8;
    /// Join asks waiting for the host of one admit-party (--max-party-asks).
    std::size_t max_asks = 16;
    /// Player runs an admit-party remembers as let in (members and former members): a member that
    /// dropped out comes back without asking again. The oldest is forgotten first.
    std::size_t max_admitted = 32;
};

struct PartyMember {
    Name name;
    std::uint32_t serial = 0;  ///< the party's join counter when it joined: its pairs' tokens
    TimePoint last_heard{};    ///< its last PartyJoin; dropped party_ttl after
};

/// A player asking to join an admit-party.
struct JoinAsk {
    Name name;
    TimePoint last_asked{};     ///< it lives the request ttl after this
    TimePoint last_notified{};  ///< when the host was last sent PartyJoinAsked
};

/// A player run the host let in: the name and the run's key, so that another run of the name
/// (a restart, or someone else who took the name) asks again.
struct Admitted {
    Name name;
    netcore::PublicKey key{};
};

struct Party {
    Name name;
    std::uint8_t flags = 0;            ///< protocol::PartyFlags, from its creator's PartyJoin
    std::uint32_t epoch = 1;           ///< grows on every change of `members`; never 0
    std::uint64_t id = 0;              ///< unique in this run: part of its pairs' tokens
    std::uint32_t creator_ip = 0;      ///< counted against PartyLimits::max_per_ip while it lives
    std::uint32_t next_serial = 1;     ///< the next member's serial
    std::vector<PartyMember> members;  ///< join order: members[0] is the host
    std::vector<JoinAsk> asks;         ///< admit-parties: waiting for the host
    std::vector<Admitted> admitted;    ///< admit-parties: let in (oldest first)

    [[nodiscard]] const PartyMember& host() const { return members.front(); }
    [[nodiscard]] PartyMember* member(std::string_view player);
    [[nodiscard]] const PartyMember* member(std::string_view player) const;
    [[nodiscard]] bool admits() const;
    /// True when `player` under `key` was let in (admit-parties only).
    [[nodiscard]] bool is_admitted(std::string_view player, const netcore::PublicKey& key) const;
};

/// What Parties::create did.
enum class Creation : std::uint8_t {
    created,
    full,     ///< max_parties parties exist
    ip_full,  ///< parties created from that IP are at max_per_ip
};

/// What Parties::ask did.
enum class AskOutcome : std::uint8_t {
    stored,     ///< a new ask: tell the host
    refreshed,  ///< it was waiting already
    full,       ///< new, but the party has max_asks waiting: nothing stored
};

/// A member that left a party, and whether the party is gone with it.
struct Departure {
    std::string party;
    std::string player;
    bool was_host = false;    ///< it was members[0]: the next oldest is the host now
    bool party_gone = false;  ///< it was the last member: the party is forgotten
};

class Parties {
  public:
    explicit Parties(PartyLimits limits);

    /// The party named `party`, or nullptr.
    [[nodiscard]] Party* find(std::string_view party);
    /// The party `player` is a member of, or nullptr.
    [[nodiscard]] Party* of(std::string_view player);
    [[nodiscard]] const Party* of(std::string_view player) const;

    /// Creates `party` with `player` (at `ip`, under `key`) its only member. Null, and why in
    /// `outcome`, when a cap refuses it. `player` must be in no party.
    Party* create(std::string_view party, std::uint8_t flags, std::string_view player,
                  const netcore::PublicKey& key, std::uint32_t ip, TimePoint now,
                  Creation& outcome);
    /// Appends `player` (in no party) to `p`, which must have room; drops its ask, and remembers
    /// it as let in when `p` admits. Returns the new member.
    const PartyMember& join(Party& p, std::string_view player, const netcore::PublicKey& key,
                            TimePoint now);
    /// A member's refresh: it was heard at `now`.
    void heard(PartyMember& m, TimePoint now) { m.last_heard = now; }
    /// Removes `player` from its party, if it is in one. A party left empty is forgotten.
    std::optional<Departure> leave(std::string_view player);
    /// Removes the members not heard for `ttl`, and the asks not renewed for `ask_ttl`.
    std::vector<Departure> sweep(TimePoint now, std::chrono::milliseconds ttl,
                                 std::chrono::milliseconds ask_ttl);

    /// `player` asks to join admit-party `p` at `now`: stores or refreshes its ask (a player asks
    /// one party at a time: an ask elsewhere is dropped). Returns the ask, or nullptr when full.
    JoinAsk* ask(Party& p, std::string_view player, TimePoint now, std::chrono::milliseconds ttl,
                 AskOutcome& outcome);
    /// The ask of `player` to `p` renewed less than `ttl` ago, or nullptr.
    [[nodiscard]] const JoinAsk* live_ask(const Party& p, std::string_view player, TimePoint now,
                                          std::chrono::milliseconds ttl) const;
    /// Drops the ask `player` has waiting, if any (it left, expired or joined elsewhere).
    void drop_ask(std::string_view player);
    /// Remembers `player` under `key` as let in to admit-party `p`.
    void admit(Party& p, std::string_view player, const netcore::PublicKey& key);

    /// The token of the introduction of members `a` and `b` of `p` (either order): the same while
    /// both stay in, never 0.
    [[nodiscard]] std::uint64_t token(const Party& p, const PartyMember& a,
                                      const PartyMember& b) const;

    [[nodiscard]] std::size_t size() const { return parties_.size(); }
    [[nodiscard]] std::size_t members() const { return member_of_.size(); }
    [[nodiscard]] std::size_t from_ip(std::uint32_t ip) const;
    [[nodiscard]] const PartyLimits& limits() const { return limits_; }

  private:
    static void bump(Party& p);
    void forget_party(const std::string& party);

    PartyLimits limits_;
    std::array<std::uint8_t, 16> key_{};  // SipHash key for pair tokens: this run's
    std::uint64_t next_id_ = 1;
    // Node-based maps: a Party's address stays valid until it is erased.
    std::unordered_map<std::string, Party> parties_;
    std::unordered_map<std::string, Party*> member_of_;  // player -> its party
    std::unordered_map<std::string, Party*> asking_;     // player -> the party it asks to join
    std::unordered_map<std::uint32_t, std::size_t> per_ip_;
};

}  // namespace rendezvous
