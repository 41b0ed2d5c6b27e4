// The name table.
#include "registry.hpp"

namespace rendezvous {

Registry::Registry(std::chrono::milliseconds expiry, std::size_t max_names)
    : expiry_(expiry), max_names_(max_names) {}

Entry* Registry::lookup(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : *it;
}

void Registry::erase(Entry* e) {
    by_name_.erase(e);
    by_address_.erase(e->address);  // frees `e`: last
}

AddOutcome Registry::add(std::string_view name, std::uint64_t instance, netcore::Address from,
                         const netcore::protocol::AddressList& lan, TimePoint now,
                         const ClientKeys& keys, std::uint64_t counter, std::uint8_t flags) {
    AddOutcome out;

    // What this address held before. Another instance on the same socket is a new run of the
    // client: the old run is gone, whatever the new one asks for. The same instance under
    // another name is a rename, applied only if the new name is admitted.
    Entry* renamed_from = nullptr;
    if (const auto at = by_address_.find(from); at != by_address_.end()) {
        Entry* held = &at->second;
        if (held->instance != instance) {
            out.released = held->name.str();
            out.release_reason = Release::new_instance;
            erase(held);
        } else if (held->name != name) {
            renamed_from = held;
        }
    }

    Entry* e = lookup(name);
    if (e != nullptr && !live(*e, now)) {
        out.replaced_expired = true;
        erase(e);
        e = nullptr;
    }
    // The holder is its instance *and* its run's key: the instance alone (a secret that travels
    // only sealed) must not let another key take the name over.
    if (e != nullptr && (e->instance != instance || e->keys.client_key != keys.client_key)) {
        out.admission = Admission::name_taken;
        out.other = e->address;
        return out;
    }
    if (e == nullptr) {
        // A rename frees the old name's slot, so it is admitted even at the cap.
        const std::size_t others = by_name_.size() - (renamed_from != nullptr ? 1 : 0);
        if (others >= max_names_) {
            out.admission = Admission::server_full;
            return out;
        }
    }

    if (renamed_from != nullptr) {
        out.released = renamed_from->name.str();
        out.release_reason = Release::renamed;
        erase(renamed_from);  // never `e`: its name differs
    }

    if (e == nullptr) {
        // `from` is free here: whatever it held was released above.
        const auto at = by_address_
                            .try_emplace(from, Entry{Name(name), flags, lan, from, instance, now,
                                                     counter, keys, nullptr})
                            .first;
        by_name_.insert(&at->second);
        out.admission = Admission::registered;
        return out;
    }
    if (e->address != from) {
        // Re-key the node: the entry itself stays where it is, so by_name_ still points at it.
        auto node = by_address_.extract(e->address);
        out.other = e->address;
        node.key() = from;
        e->address = from;
        by_address_.insert(std::move(node));
        out.admission = Admission::moved;
    } else {
        out.admission = Admission::refreshed;
    }
    e->flags = flags;
    e->lan = lan;
    e->last_seen = now;
    e->received = counter;
    e->keys = keys;
    return out;
}

void Registry::refresh(const Entry& e, const netcore::protocol::AddressList& lan, TimePoint now,
                       std::uint8_t flags) {
    // Every entry is a non-const object owned by by_address_; no field changed here is a key.
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
    const Entry* e = lookup(name);
    if (e == nullptr || !live(*e, now)) return nullptr;
    return e;
}

const Entry* Registry::find_at(netcore::Address address, TimePoint now) const {
    const auto at = by_address_.find(address);
    if (at == by_address_.end() || !live(at->second, now)) return nullptr;
    return &at->second;
}

bool Registry::remove(std::string_view name) {
    Entry* e = lookup(name);
    if (e == nullptr) return false;
    erase(e);
    return true;
}

std::vector<std::string> Registry::sweep(TimePoint now) {
    // A full scan: at the default cap of 100 000 names, well under a millisecond once a second.
    std::vector<std::string> gone;
    for (auto it = by_address_.begin(); it != by_address_.end();) {
        if (live(it->second, now)) {
            ++it;
            continue;
        }
        gone.push_back(it->second.name.str());
        by_name_.erase(&it->second);
        it = by_address_.erase(it);
    }
    return gone;
}

}  // namespace rendezvous
