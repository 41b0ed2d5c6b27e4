// rendezvous — the name table: who is online, at which address, until when.
//
// Indexed by name and by address. An address holds at most one name; a name is held by one
// client run (its `instance`) and expires `expiry` after its last registration.
//
// Memory (docs/PERFORMANCE.md, goal: a million names in 200 MB): the entries live in chunks of
// 1024, never moved, and two open-addressing indexes hold 4 bytes a slot each. Both indexes hash
// with a key drawn at start (SipHash, libsodium's crypto_shorthash): nobody can choose names or
// ports that pile up on one probe sequence.
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
#include <span>
#include <string>
#include <string_view>
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

namespace detail {

/// Entry numbers by one key: open addressing with linear probing, and deletion by shifting the
/// rest of a run back (no tombstones). A slot holds the number + 1 (0: empty) in its low 24 bits
/// and 8 bits of the key's hash above them, so a probe seldom reads an entry it does not want.
/// The index knows no keys: callers pass a key's hash, a test of an entry number, and (where
/// slots move) each entry's hash.
class SlotIndex {
  public:
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
    static constexpr std::uint32_t kMaxEntries = (1u << 24) - 1;

    /// The entry under `hash` for which `is(number)` holds, or kNone.
    template <class Is>
    [[nodiscard]] std::uint32_t find(std::uint64_t hash, Is is) const {
        const std::size_t at = locate(hash, is);
        return at == kNowhere ? kNone : number_of(slots_[at]);
    }

    /// Adds entry `number` (below kMaxEntries) under `hash`; `hash_of(n)` is entry n's hash,
    /// for when the table grows.
    template <class HashOf>
    void insert(std::uint32_t number, std::uint64_t hash, HashOf hash_of) {
        if ((size_ + 1) * 5 > slots_.size() * 4) grow(hash_of);  // at most 80% full
        place(number, hash);
        ++size_;
    }

    /// Removes the entry under `hash` for which `is(number)` holds, and returns its number (kNone
    /// if there is none).
    template <class Is, class HashOf>
    std::uint32_t erase(std::uint64_t hash, Is is, HashOf hash_of) {
        std::size_t hole = locate(hash, is);
        if (hole == kNowhere) return kNone;
        const std::uint32_t gone = number_of(slots_[hole]);
        // Each later slot of the run moves into the hole unless its home lies after the hole.
        for (std::size_t j = next(hole); slots_[j] != 0; j = next(j)) {
            const std::size_t at = home(hash_of(number_of(slots_[j])));
            if (distance(at, j) >= distance(hole, j)) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole] = 0;
        --size_;
        return gone;
    }

    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t slots() const { return slots_.size(); }
    /// The most slots a lookup has to read: the longest way from a home slot to its entry of
    /// any insertion since the table last grew (removals only shorten ways, so this bounds them).
    [[nodiscard]] std::size_t longest_probe() const { return longest_probe_; }

  private:
    static constexpr std::uint32_t kNumberBits = kMaxEntries;
    static constexpr std::uint32_t kTagBits = ~kNumberBits;

    static constexpr std::size_t kNowhere = ~std::size_t{0};

    // The slot of the entry under `hash` for which `is(number)` holds, or kNowhere.
    template <class Is>
    [[nodiscard]] std::size_t locate(std::uint64_t hash, Is is) const {
        if (slots_.empty()) return kNowhere;
        const std::uint32_t tag = tag_of(hash);
        for (std::size_t i = home(hash);; i = next(i)) {
            const std::uint32_t s = slots_[i];
            if (s == 0) return kNowhere;
            if ((s & kTagBits) == tag && is(number_of(s))) return i;
        }
    }
    static std::uint32_t tag_of(std::uint64_t hash) {
        return static_cast<std::uint32_t>(hash >> 32) & kTagBits;
    }
    static std::uint32_t number_of(std::uint32_t slot) { return (slot & kNumberBits) - 1; }
    // The low 32 bits of the hash scaled to the table: any size works, not only powers of two.
    [[nodiscard]] std::size_t home(std::uint64_t hash) const {
        return static_cast<std::size_t>(((hash & 0xFFFFFFFFu) * slots_.size()) >> 32);
    }
    [[nodiscard]] std::size_t next(std::size_t i) const {
        return i + 1 == slots_.size() ? 0 : i + 1;
    }
    [[nodiscard]] std::size_t distance(std::size_t from, std::size_t to) const {
        return to >= from ? to - from : to + slots_.size() - from;
    }
    void place(std::uint32_t number, std::uint64_t hash) {
        const std::size_t from = home(hash);
        std::size_t i = from;
        while (slots_[i] != 0) i = next(i);
        slots_[i] = tag_of(hash) | (number + 1);
        longest_probe_ = std::max(longest_probe_, distance(from, i) + 1);
    }
    // Half as large again: between 53% and 80% full, 5 to 7.5 bytes an entry.
    template <class HashOf>
    void grow(HashOf hash_of) {
        std::vector<std::uint32_t> old(
            std::max<std::size_t>(16, slots_.size() + slots_.size() / 2));
        old.swap(slots_);
        longest_probe_ = 0;
        for (const std::uint32_t s : old)
            if (s != 0) place(number_of(s), hash_of(number_of(s)));
    }

    std::vector<std::uint32_t> slots_;
    std::size_t size_ = 0;
    std::size_t longest_probe_ = 0;
};

}  // namespace detail

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
    /// The most names a table can hold (16 777 215: entry numbers fit 24 bits).
    static constexpr std::size_t kMaxNames = detail::SlotIndex::kMaxEntries;

    /// The key both indexes hash with (SipHash, libsodium's crypto_shorthash).
    using HashKey = std::array<unsigned char, 16>;

    /// `expiry`: how long a name lives after its last Register. `max_names`: the cap (at most
    /// kMaxNames). The hash key is drawn at random.
    Registry(std::chrono::milliseconds expiry, std::size_t max_names);
    /// As above, hashing with `hash_key`: for tests that play an attacker who knows the key.
    Registry(std::chrono::milliseconds expiry, std::size_t max_names, const HashKey& hash_key);

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
    [[nodiscard]] std::size_t size() const { return count_; }
    /// The most slots a lookup by name or by address reads (SlotIndex::longest_probe): under the
    /// random key it stays linear probing's tail however names and ports are chosen (38 at
    /// 100 000 names, 165 at a million; docs/PERFORMANCE.md).
    [[nodiscard]] std::size_t longest_probe() const {
        return std::max(by_name_.longest_probe(), by_address_.longest_probe());
    }

  private:
    using Number = std::uint32_t;  // an entry's place in the chunks
    static constexpr std::size_t kChunk = 1024;
    static constexpr Number kNone = detail::SlotIndex::kNone;

    [[nodiscard]] bool live(const Entry& e, TimePoint now) const {
        return now - e.last_seen < expiry_;
    }
    [[nodiscard]] Entry& entry(Number n) const { return chunks_[n / kChunk][n % kChunk]; }
    [[nodiscard]] std::uint64_t hash(std::span<const unsigned char> bytes) const;
    [[nodiscard]] std::uint64_t hash(std::string_view name) const;
    [[nodiscard]] std::uint64_t hash(netcore::Address address) const;
    [[nodiscard]] Number lookup(std::string_view name) const;
    [[nodiscard]] Number lookup_at(netcore::Address address) const;
    template <auto Field>
    void index(detail::SlotIndex& table, Number n);
    template <auto Field>
    void unindex(detail::SlotIndex& table, Number n);
    void erase(Number n);

    std::chrono::milliseconds expiry_;
    std::size_t max_names_;
    HashKey hash_key_{};                            // crypto_shorthash_KEYBYTES
    std::vector<std::unique_ptr<Entry[]>> chunks_;  // NOLINT: fixed-size blocks that never move
    Number used_ = 0;           // entries ever handed out: the first never used is `used_`
    std::vector<Number> free_;  // entries handed back, used again first
    std::size_t count_ = 0;     // entries held (an empty name marks a free one)
    detail::SlotIndex by_name_;
    detail::SlotIndex by_address_;  // an address holds at most one name
};

}  // namespace rendezvous
