// rendezvous — the name table: who is online, at which address, until when.
//
// Indexed by name and by address. An address holds at most one name; a name is held by one
// client run (its `instance`) and expires `expiry` after its last registration.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"

namespace rendezvous {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// A name held inline: at most protocol::kMaxNameLength bytes, no allocation. Reads as a
/// std::string_view; compares with strings.
class Name {
  public:
    Name() = default;
    /// `name` must be a valid name (protocol::is_valid_name); longer input is cut.
    explicit Name(std::string_view name)
        : size_(static_cast<std::uint8_t>(std::min(name.size(), bytes_.size()))) {
        std::copy_n(name.data(), size_, bytes_.data());
    }
    [[nodiscard]] std::string_view view() const { return {bytes_.data(), size_}; }
    operator std::string_view() const { return view(); }  // NOLINT: reads as a string
    [[nodiscard]] std::string str() const { return std::string(view()); }

    friend bool operator==(const Name& a, const Name& b) { return a.view() == b.view(); }
    friend bool operator==(const Name& a, std::string_view b) { return a.view() == b; }
    friend std::ostream& operator<<(std::ostream& os, const Name& n) { return os << n.view(); }

  private:
    std::array<char, netcore::protocol::kMaxNameLength> bytes_{};
    std::uint8_t size_ = 0;
};

/// What a client's signals are sealed under (PROTOCOL.md §11.2), kept with its name so that a
/// refresh opens with one AEAD and no X25519, and so that its peers learn its key.
struct ClientKeys {
    netcore::PublicKey client_key{};            ///< its run's public key: peers get it
    std::array<std::uint8_t, 32> signal_key{};  ///< the key both derived (§11.2)
};

/// A standing relay (PROTOCOL.md §4.11, token 0): TURN credentials scoped to a registration,
/// and the allocation its holder made under them, handed to each peer it is introduced to.
struct StandingRelay {
    std::int64_t expiry = 0;   ///< unix seconds at which its current credential expires
    bool offered = false;      ///< a standing RelayOffer was stored: the two addresses below
    netcore::Address relayed;  ///< the XOR-RELAYED-ADDRESS of its allocation
    netcore::Address mapped;   ///< its address as its TURN server saw it
};

/// One registered name.
struct Entry {
    // Ordered so that nothing is padding but 3 bytes after the name (docs/PERFORMANCE.md).
    Name name;
    std::uint8_t flags = 0;              ///< RegisterFlags::open and ::hidden of its last Register
    netcore::protocol::AddressList lan;  ///< the LAN candidates it reported
    netcore::Address address;            ///< where its last Register came from
    std::uint64_t instance = 0;          ///< the client run that holds the name
    TimePoint last_seen{};               ///< its last Register
    std::uint64_t received = 0;          ///< the highest signal counter it sealed: older replays
    ClientKeys keys;                     ///< its key and the signal key
    /// Null unless this run asked for a standing relay: 8 bytes for the names that never do. A
    /// new run (another instance) makes a new Entry, so a standing relay never outlives its run.
    std::unique_ptr<StandingRelay> standing;
};
static_assert(sizeof(Entry) <= 176, "an Entry grew: see the 1M-names figure in PERFORMANCE.md");

/// What Registry::add did.
enum class Admission : std::uint8_t {
    registered,   ///< the name was free (or expired): it is now held
    refreshed,    ///< same instance, same address: only the expiry moved
    moved,        ///< same instance, new address (NAT rebinding): the name followed it
    name_taken,   ///< another live instance holds the name: nothing stored
    server_full,  ///< the table is at its cap and the name is new: nothing stored
};

/// Why a name left the table as a side effect of someone's Register.
enum class Release : std::uint8_t {
    renamed,       ///< the same instance registered another name from the same address
    new_instance,  ///< another instance registered from the same address: a new run of that socket
};

struct AddOutcome {
    Admission admission = Admission::registered;
    /// moved: the address the name left; name_taken: the holder's address.
    netcore::Address other;
    /// The name this address held before, if it left the table (even when admission failed:
    /// a new run on the same socket means the old one is gone whatever it asks for).
    std::optional<std::string> released;
    Release release_reason = Release::renamed;
    /// True when the requested name was held by an expired entry not yet swept.
    bool replaced_expired = false;
};

/// The name table. Time is passed in; nothing here reads a clock.
class Registry {
  public:
    /// `expiry`: how long a name lives after its last Register. `max_names`: the cap.
    Registry(std::chrono::milliseconds expiry, std::size_t max_names);

    /// Registers (or refreshes) `name` for `instance` at `from`; see PROTOCOL.md for the rules.
    /// `keys` and `counter` (the Register's signal counter) are kept in the entry it stores or
    /// refreshes.
    AddOutcome add(std::string_view name, std::uint64_t instance, netcore::Address from,
                   const netcore::protocol::AddressList& lan, TimePoint now,
                   const ClientKeys& keys = {}, std::uint64_t counter = 0, std::uint8_t flags = 0);

    /// A refresh of the live entry `e` (from find_at) from its own address, by its own instance:
    /// moves its expiry and takes its new LAN list, as add() would, without the lookups.
    void refresh(const Entry& e, const netcore::protocol::AddressList& lan, TimePoint now,
                 std::uint8_t flags = 0);
    /// Records that `e`'s client sealed a signal under `counter` (higher than Entry::received).
    void note_received(const Entry& e, std::uint64_t counter);
    /// Grants `e` a standing relay whose credential expires at `expiry` (unix seconds), or
    /// renews it: an offer it made is kept.
    void grant_standing(const Entry& e, std::int64_t expiry);
    /// Stores the standing offer of `e`, which holds a standing grant, replacing an earlier one.
    void offer_standing(const Entry& e, netcore::Address relayed, netcore::Address mapped);

    /// The live entry holding `name`, or nullptr. Valid until the next non-const call.
    [[nodiscard]] const Entry* find(std::string_view name, TimePoint now) const;
    /// The live entry registered from `address`, or nullptr. Valid until the next non-const call.
    [[nodiscard]] const Entry* find_at(netcore::Address address, TimePoint now) const;

    /// Removes `name`. Returns false if it was not there.
    bool remove(std::string_view name);

    /// Removes every expired entry and returns their names.
    std::vector<std::string> sweep(TimePoint now);

    /// Entries held, counting expired ones not yet swept.
    [[nodiscard]] std::size_t size() const { return by_name_.size(); }

  private:
    // Memory: one allocation per entry for the entry itself (a node of by_address_, which owns
    // it; nodes never move, so pointers to entries stay valid) and one small node in by_name_,
    // which only points at it. Names live inline in the entry (no allocation).
    // About 250 bytes a name in all, whatever its length: docs/PERFORMANCE.md.
    struct AddressHash {
        // noexcept and cheap: the table then stores no hash per node.
        std::size_t operator()(netcore::Address a) const noexcept {
            return std::hash<std::uint64_t>{}((std::uint64_t{a.ip} << 16) | a.port);
        }
    };
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
        std::size_t operator()(const Entry* e) const noexcept { return (*this)(e->name); }
    };
    struct NameEqual {
        using is_transparent = void;
        static std::string_view key(std::string_view s) { return s; }
        static std::string_view key(const Entry* e) { return e->name; }
        template <class A, class B>
        bool operator()(const A& a, const B& b) const noexcept {
            return key(a) == key(b);
        }
    };
    using ByAddress = std::unordered_map<netcore::Address, Entry, AddressHash>;
    using ByName = std::unordered_set<Entry*, NameHash, NameEqual>;

    [[nodiscard]] bool live(const Entry& e, TimePoint now) const {
        return now - e.last_seen < expiry_;
    }
    [[nodiscard]] Entry* lookup(std::string_view name) const;
    void erase(Entry* e);

    std::chrono::milliseconds expiry_;
    std::size_t max_names_;
    ByAddress by_address_;  // owns the entries: an address holds at most one name
    ByName by_name_;        // every entry has exactly one row here
};

}  // namespace rendezvous
