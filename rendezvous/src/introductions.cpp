// Pending introductions.
#include "introductions.hpp"

#include <vector>

namespace rendezvous {

Introductions::Key Introductions::key_of(std::string_view a, std::string_view b) {
    if (b < a) std::swap(a, b);
    return {std::string(a), std::string(b)};
}

const Pending* Introductions::lookup(std::string_view a, std::string_view b) const {
    const auto it = pending_.find(key_of(a, b));
    return it == pending_.end() ? nullptr : &it->second;
}

const Pending* Introductions::find(std::string_view a, std::string_view b, TimePoint now) const {
    const Pending* p = lookup(a, b);
    return p != nullptr && now - p->created < ttl_ ? p : nullptr;
}

const Pending* Introductions::known(std::string_view a, std::string_view b, TimePoint now) const {
    const Pending* p = lookup(a, b);
    return p != nullptr && now - p->created < keep_ ? p : nullptr;
}

const Pending& Introductions::add(std::string_view initiator, std::string_view responder,
                                  std::uint64_t token, TimePoint now, std::uint32_t source_ip) {
    auto key = key_of(initiator, responder);
    if (const auto old = pending_.find(key); old != pending_.end()) uncount(old->second.source_ip);
    ++per_ip_[source_ip];
    partners_.emplace(key.first, key.second);
    partners_.emplace(key.second, key.first);
    Pending p{token, std::string(initiator), std::string(responder), now, source_ip};
    return pending_.insert_or_assign(std::move(key), std::move(p)).first->second;
}

std::size_t Introductions::from_ip(std::uint32_t ip) const {
    const auto it = per_ip_.find(ip);
    return it == per_ip_.end() ? 0 : it->second;
}

void Introductions::uncount(std::uint32_t ip) {
    const auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

void Introductions::erase(const Key& key) {
    if (const auto it = pending_.find(key); it != pending_.end()) uncount(it->second.source_ip);
    pending_.erase(key);
    partners_.erase({key.first, key.second});
    partners_.erase({key.second, key.first});
}

std::size_t Introductions::forget(std::string_view name) {
    const std::string self(name);
    std::vector<Key> gone;
    for (auto it = partners_.lower_bound({self, std::string()});
         it != partners_.end() && it->first == self; ++it) {
        gone.push_back(key_of(it->first, it->second));
    }
    for (const auto& key : gone) erase(key);
    return gone.size();
}

std::size_t Introductions::sweep(TimePoint now) {
    std::vector<Key> gone;
    for (const auto& [key, p] : pending_) {
        if (now - p.created >= keep_) gone.push_back(key);
    }
    for (const auto& key : gone) erase(key);
    return gone.size();
}

}  // namespace rendezvous
