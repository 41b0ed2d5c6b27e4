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
                                  std::uint64_t token, TimePoint now) {
    auto key = key_of(initiator, responder);
    partners_.emplace(key.first, key.second);
    partners_.emplace(key.second, key.first);
    Pending p{token, std::string(initiator), std::string(responder), now};
    return pending_.insert_or_assign(std::move(key), std::move(p)).first->second;
}

void Introductions::erase(const Key& key) {
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
