// Requests waiting for consent.
#include "requests.hpp"

#include <vector>

namespace rendezvous {

namespace {

template <typename Map, typename Key>
void decrement(Map& counts, const Key& key) {
    const auto it = counts.find(key);
    if (it == counts.end()) return;
    if (--it->second == 0) counts.erase(it);
}

}  // namespace

Request* Requests::ask(std::string_view asker, std::string_view asked, std::uint32_t source_ip,
                       TimePoint now, Asked& outcome) {
    Key key{std::string(asker), std::string(asked)};
    if (const auto it = requests_.find(key); it != requests_.end()) {
        if (now - it->second.last_asked < ttl_) {
            it->second.last_asked = now;
            outcome = Asked::refreshed;
            return &it->second;
        }
        erase(it);  // stale, not swept yet: it counts as new, caps and all
    }
    // Every cap before anything is stored (the issue: one IP filled the table before a cap
    // was checked).
    if (from_ip(source_ip) >= caps_.per_ip) {
        outcome = Asked::ip_full;
        return nullptr;
    }
    if (const auto n = per_name_.find(key.first);
        n != per_name_.end() && n->second >= caps_.per_name) {
        outcome = Asked::name_full;
        return nullptr;
    }
    if (requests_.size() >= caps_.total) {
        outcome = Asked::full;
        return nullptr;
    }
    ++per_ip_[source_ip];
    ++per_name_[key.first];
    by_asked_.emplace(key.second, key.first);
    auto& r = requests_[std::move(key)];
    r = Request{source_ip, now, now};
    outcome = Asked::stored;
    return &r;
}

bool Requests::live(std::string_view asker, std::string_view asked, TimePoint now) const {
    const auto it = requests_.find(Key{std::string(asker), std::string(asked)});
    return it != requests_.end() && now - it->second.last_asked < ttl_;
}

std::size_t Requests::from_ip(std::uint32_t ip) const {
    const auto it = per_ip_.find(ip);
    return it == per_ip_.end() ? 0 : it->second;
}

void Requests::erase(std::map<Key, Request>::iterator it) {
    decrement(per_ip_, it->second.source_ip);
    decrement(per_name_, it->first.first);
    by_asked_.erase({it->first.second, it->first.first});
    requests_.erase(it);
}

void Requests::erase_pair(std::string_view a, std::string_view b) {
    for (const auto& key :
         {Key{std::string(a), std::string(b)}, Key{std::string(b), std::string(a)}})
        if (const auto it = requests_.find(key); it != requests_.end()) erase(it);
}

std::size_t Requests::forget(std::string_view name) {
    const std::string self(name);
    std::vector<Key> gone;
    // By `name`: the map is ordered by asker first.
    for (auto it = requests_.lower_bound({self, std::string()});
         it != requests_.end() && it->first.first == self; ++it)
        gone.push_back(it->first);
    // For `name`.
    for (auto it = by_asked_.lower_bound({self, std::string()});
         it != by_asked_.end() && it->first == self; ++it)
        gone.emplace_back(it->second, it->first);
    for (const auto& key : gone)
        if (const auto it = requests_.find(key); it != requests_.end()) erase(it);
    return gone.size();
}

std::size_t Requests::sweep(TimePoint now) {
    std::size_t n = 0;
    for (auto it = requests_.begin(); it != requests_.end();) {
        const auto next = std::next(it);
        if (now - it->second.last_asked >= ttl_) {
            erase(it);
            ++n;
        }
        it = next;
    }
    return n;
}

}  // namespace rendezvous
