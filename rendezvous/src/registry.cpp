// The name table.
#include "registry.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace rendezvous {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

Registry::Registry(std::chrono::milliseconds expiry, std::size_t max_names)
    : Registry(expiry, max_names, HashKey{}) {
    randombytes_buf(hash_key_.data(), hash_key_.size());
}

Registry::Registry(std::chrono::milliseconds expiry, std::size_t max_names, const HashKey& hash_key)
    : expiry_(expiry), max_names_(std::min(max_names, kMaxNames)), hash_key_(hash_key) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::uint64_t Registry::hash(std::span<const unsigned char> bytes) const {
    std::array<unsigned char, crypto_shorthash_BYTES> out{};
    crypto_shorthash(out.data(), bytes.data(), bytes.size(), hash_key_.data());
    std::uint64_t h = 0;
    std::memcpy(&h, out.data(), sizeof h);
    return h;
}

std::uint64_t Registry::hash(std::string_view name) const {
    return hash(std::span(reinterpret_cast<const unsigned char*>(name.data()), name.size()));
}

std::uint64_t Registry::hash(netcore::Address address) const {
    std::array<unsigned char, 6> bytes{};
    std::memcpy(bytes.data(), &address.ip, 4);
    std::memcpy(bytes.data() + 4, &address.port, 2);
    return hash(bytes);
}

Registry::Number Registry::lookup(std::string_view name) const {
    return by_name_.find(hash(name), [&](Number n) { return entry(n).name == name; });
}

Registry::Number Registry::lookup_at(netcore::Address address) const {
    return by_address_.find(hash(address), [&](Number n) { return entry(n).address == address; });
}

// Entry `n` into or out of `table`, which is keyed by the entry's field `Field`.
template <auto Field>
void Registry::index(detail::SlotIndex& table, Number n) {
    const auto hash_of = [&](Number k) { return hash(entry(k).*Field); };
    table.insert(n, hash_of(n), hash_of);
}

template <auto Field>
void Registry::unindex(detail::SlotIndex& table, Number n) {
    const auto hash_of = [&](Number k) { return hash(entry(k).*Field); };
    table.erase(
        hash_of(n), [n](Number k) { return k == n; }, hash_of);
}

void Registry::erase(Number n) {
    unindex<&Entry::name>(by_name_, n);
    unindex<&Entry::address>(by_address_, n);
    entry(n) = Entry{};  // an empty name: free (and a standing relay, if any, is freed)
    free_.push_back(n);
    --count_;
}

AddOutcome Registry::add(std::string_view name, std::uint64_t instance, netcore::Address from,
                         const netcore::protocol::AddressList& lan, TimePoint now,
                         const ClientKeys& keys, std::uint64_t counter, std::uint8_t flags) {
    AddOutcome out;

    // What this address held before. Another instance on the same socket is a new run of the
    // client: the old run is gone, whatever the new one asks for. The same instance under
    // another name is a rename, applied only if the new name is admitted.
    Number renamed_from = kNone;
    if (const Number at = lookup_at(from); at != kNone) {
        const Entry& held = entry(at);
        if (held.instance != instance) {
            out.released = held.name.str();
            out.release_reason = Release::new_instance;
            erase(at);
        } else if (held.name != name) {
            renamed_from = at;
        }
    }

    Number n = lookup(name);
    if (n != kNone && !live(entry(n), now)) {
        out.replaced_expired = true;
        erase(n);
        n = kNone;
    }
    // The holder is its instance *and* its run's key: the instance alone (a secret that travels
    // only sealed) must not let another key take the name over.
    if (n != kNone &&
        (entry(n).instance != instance || entry(n).keys.client_key != keys.client_key)) {
        out.admission = Admission::name_taken;
        out.other = entry(n).address;
        return out;
    }
    if (n == kNone) {
        // A rename frees the old name's slot, so it is admitted even at the cap.
        const std::size_t others = count_ - (renamed_from != kNone ? 1 : 0);
        if (others >= max_names_) {
            out.admission = Admission::server_full;
            return out;
        }
    }

    if (renamed_from != kNone) {
        out.released = entry(renamed_from).name.str();
        out.release_reason = Release::renamed;
        erase(renamed_from);  // never `n`: its name differs
    }

    if (n == kNone) {
        // `from` is free here: whatever it held was released above.
        if (!free_.empty()) {
            n = free_.back();
            free_.pop_back();
        } else {
            if (used_ % kChunk == 0) chunks_.push_back(std::make_unique<Entry[]>(kChunk));
            n = used_++;
        }
        entry(n) = Entry{Name(name), flags, lan, from, instance, now, counter, keys, nullptr};
        index<&Entry::name>(by_name_, n);
        index<&Entry::address>(by_address_, n);
        ++count_;
        out.admission = Admission::registered;
        return out;
    }
    Entry& e = entry(n);
    if (e.address != from) {
        // Re-indexed by address; the entry itself stays where it is.
        unindex<&Entry::address>(by_address_, n);
        out.other = e.address;
        e.address = from;
        index<&Entry::address>(by_address_, n);
        out.admission = Admission::moved;
    } else {
        out.admission = Admission::refreshed;
    }
    e.flags = flags;
    e.lan = lan;
    e.last_seen = now;
    e.received = counter;
    e.keys = keys;
    return out;
}

void Registry::refresh(const Entry& e, const netcore::protocol::AddressList& lan, TimePoint now,
                       std::uint8_t flags) {
    // Every entry is a non-const object in chunks_; no field changed here is a key.
    auto& mutable_entry = const_cast<Entry&>(e);
    mutable_entry.flags = flags;
    mutable_entry.lan = lan;
    mutable_entry.last_seen = now;
}

void Registry::note_received(const Entry& e, std::uint64_t counter) {
    const_cast<Entry&>(e).received = counter;  // as refresh(): not a key of either index
}

void Registry::grant_standing(const Entry& e, std::int64_t expiry) {
    auto& mutable_entry = const_cast<Entry&>(e);  // as refresh(): not a key of either index
    if (!mutable_entry.standing) mutable_entry.standing = std::make_unique<StandingRelay>();
    mutable_entry.standing->expiry = expiry;
}

void Registry::offer_standing(const Entry& e, netcore::Address relayed, netcore::Address mapped) {
    auto& mutable_entry = const_cast<Entry&>(e);  // as refresh()
    if (!mutable_entry.standing) return;          // never granted: the caller checked
    mutable_entry.standing->offered = true;
    mutable_entry.standing->relayed = relayed;
    mutable_entry.standing->mapped = mapped;
}

const Entry* Registry::find(std::string_view name, TimePoint now) const {
    const Number n = lookup(name);
    if (n == kNone || !live(entry(n), now)) return nullptr;
    return &entry(n);
}

const Entry* Registry::find_at(netcore::Address address, TimePoint now) const {
    const Number n = lookup_at(address);
    if (n == kNone || !live(entry(n), now)) return nullptr;
    return &entry(n);
}

bool Registry::remove(std::string_view name) {
    const Number n = lookup(name);
    if (n == kNone) return false;
    erase(n);
    return true;
}

std::vector<std::string> Registry::sweep(TimePoint now) {
    // A full scan: at the default cap of 100 000 names, well under a millisecond once a second.
    std::vector<std::string> gone;
    for (Number n = 0; n < used_; ++n) {
        const Entry& e = entry(n);
        if (e.name.view().empty() || live(e, now)) continue;
        gone.push_back(e.name.str());
        erase(n);
    }
    return gone;
}

}  // namespace rendezvous
