// The name table.
#include "registry.hpp"

namespace rendezvous {

Registry::Registry(std::chrono::milliseconds expiry, std::size_t max_names)
    : expiry_(expiry), max_names_(max_names) {}

void Registry::erase(ByName::iterator it) {
    by_address_.erase(it->second.address);
    by_name_.erase(it);
}

AddOutcome Registry::add(std::string_view name, std::uint64_t instance, netcore::Address from,
                         const netcore::protocol::AddressList& lan, TimePoint now) {
    AddOutcome out;

    // What this address held before. Another instance on the same socket is a new run of the
    // client: the old run is gone, whatever the new one asks for. The same instance under
    // another name is a rename, applied only if the new name is admitted.
    auto renamed_from = by_name_.end();
    if (const auto at = by_address_.find(from); at != by_address_.end()) {
        const auto held = by_name_.find(at->second);
        if (held->second.instance != instance) {
            out.released = held->first;
            out.release_reason = Release::new_instance;
            erase(held);
        } else if (held->first != name) {
            renamed_from = held;
        }
    }

    auto it = by_name_.find(name);
    if (it != by_name_.end() && !live(it->second, now)) {
        out.replaced_expired = true;
        erase(it);
        it = by_name_.end();
    }
    if (it != by_name_.end() && it->second.instance != instance) {
        out.admission = Admission::name_taken;
        out.other = it->second.address;
        return out;
    }
    if (it == by_name_.end()) {
        // A rename frees the old name's slot, so it is admitted even at the cap.
        const std::size_t others = by_name_.size() - (renamed_from != by_name_.end() ? 1 : 0);
        if (others >= max_names_) {
            out.admission = Admission::server_full;
            return out;
        }
    }

    if (renamed_from != by_name_.end()) {
        out.released = renamed_from->first;
        out.release_reason = Release::renamed;
        erase(renamed_from);  // never `it`: its name differs
    }

    if (it == by_name_.end()) {
        Entry e{std::string(name), instance, from, lan, now};
        by_address_.emplace(from, e.name);
        by_name_.emplace(e.name, std::move(e));
        out.admission = Admission::registered;
        return out;
    }
    Entry& e = it->second;
    if (e.address != from) {
        by_address_.erase(e.address);
        by_address_.emplace(from, e.name);
        out.other = e.address;
        e.address = from;
        out.admission = Admission::moved;
    } else {
        out.admission = Admission::refreshed;
    }
    e.lan = lan;
    e.last_seen = now;
    return out;
}

const Entry* Registry::find(std::string_view name, TimePoint now) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end() || !live(it->second, now)) return nullptr;
    return &it->second;
}

const Entry* Registry::find_at(netcore::Address address, TimePoint now) const {
    const auto at = by_address_.find(address);
    if (at == by_address_.end()) return nullptr;
    return find(at->second, now);
}

bool Registry::remove(std::string_view name) {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return false;
    erase(it);
    return true;
}

std::vector<std::string> Registry::sweep(TimePoint now) {
    // A full scan: at the default cap of 100 000 names, well under a millisecond once a second.
    std::vector<std::string> gone;
    for (auto it = by_name_.begin(); it != by_name_.end();) {
        if (live(it->second, now)) {
            ++it;
            continue;
        }
        gone.push_back(it->first);
        by_address_.erase(it->second.address);
        it = by_name_.erase(it);
    }
    return gone;
}

}  // namespace rendezvous
