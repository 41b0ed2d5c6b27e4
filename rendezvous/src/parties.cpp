// The party table.
#include "parties.hpp"

#include <sodium.h>

#include <algorithm>

#include "crypto.hpp"  // netcore's libsodium wrappers: init, random_bytes
#include "netcore/protocol.hpp"

namespace rendezvous {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

PartyMember* Party::member(std::string_view player) {
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&](const PartyMember& m) { return m.name == player; });
    return it == members.end() ? nullptr : &*it;
}

const PartyMember* Party::member(std::string_view player) const {
    return const_cast<Party*>(this)->member(player);
}

bool Party::admits() const {
    return (flags & netcore::protocol::PartyFlags::admit) != 0;
}

bool Party::is_admitted(std::string_view player, const netcore::PublicKey& key) const {
    return std::any_of(admitted.begin(), admitted.end(),
                       [&](const Admitted& a) { return a.name == player && a.key == key; });
}

Parties::Parties(PartyLimits limits) : limits_(limits) {
    netcore::crypto::init();
    netcore::crypto::random_bytes(key_);
}

Party* Parties::find(std::string_view party) {
    const auto it = parties_.find(std::string(party));
    return it == parties_.end() ? nullptr : &it->second;
}

Party* Parties::of(std::string_view player) {
    const auto it = member_of_.find(std::string(player));
    return it == member_of_.end() ? nullptr : it->second;
}

const Party* Parties::of(std::string_view player) const {
    const auto it = member_of_.find(std::string(player));
    return it == member_of_.end() ? nullptr : it->second;
}

std::size_t Parties::from_ip(std::uint32_t ip) const {
    const auto it = per_ip_.find(ip);
    return it == per_ip_.end() ? 0 : it->second;
}

void Parties::bump(Party& p) {
    if (++p.epoch == 0) p.epoch = 1;  // 0 means "no list" to a client
}

Party* Parties::create(std::string_view party, std::uint8_t flags, std::string_view player,
                       const netcore::PublicKey& key, std::uint32_t ip, TimePoint now,
                       Creation& outcome) {
    if (parties_.size() >= limits_.max_parties) {
        outcome = Creation::full;
        return nullptr;
    }
    if (from_ip(ip) >= limits_.max_per_ip) {
        outcome = Creation::ip_full;
        return nullptr;
    }
    Party& p = parties_[std::string(party)];
    p.name = Name(party);
    p.flags = flags & netcore::protocol::PartyFlags::all;
    p.epoch = 0;  // join() makes it 1
    p.id = next_id_++;
    p.creator_ip = ip;
    ++per_ip_[ip];
    join(p, player, key, now);
    outcome = Creation::created;
    return &p;
}

const PartyMember& Parties::join(Party& p, std::string_view player, const netcore::PublicKey& key,
                                 TimePoint now) {
    drop_ask(player);
    if (p.admits() && !p.is_admitted(player, key)) admit(p, player, key);
    p.members.push_back(PartyMember{Name(player), p.next_serial++, now});
    member_of_[std::string(player)] = &p;
    bump(p);
    return p.members.back();
}

void Parties::admit(Party& p, std::string_view player, const netcore::PublicKey& key) {
    auto& list = p.admitted;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Admitted& a) { return a.name == player; }),
               list.end());
    if (list.size() >= limits_.max_admitted) list.erase(list.begin());
    list.push_back(Admitted{Name(player), key});
}

void Parties::forget_party(const std::string& party) {
    const auto it = parties_.find(party);
    if (it == parties_.end()) return;
    for (const auto& a : it->second.asks) asking_.erase(a.name.str());
    if (const auto n = per_ip_.find(it->second.creator_ip); n != per_ip_.end() && --n->second == 0)
        per_ip_.erase(n);
    parties_.erase(it);
}

std::optional<Departure> Parties::leave(std::string_view player) {
    const auto at = member_of_.find(std::string(player));
    if (at == member_of_.end()) return std::nullopt;
    Party& p = *at->second;
    member_of_.erase(at);
    const bool was_host = !p.members.empty() && p.host().name == player;
    std::erase_if(p.members, [&](const PartyMember& m) { return m.name == player; });
    Departure d{p.name.str(), std::string(player), was_host, p.members.empty()};
    if (d.party_gone) {
        forget_party(d.party);
    } else {
        bump(p);
    }
    return d;
}

std::vector<Departure> Parties::sweep(TimePoint now, std::chrono::milliseconds ttl,
                                      std::chrono::milliseconds ask_ttl) {
    std::vector<std::string> stale;
    for (auto& [name, p] : parties_) {
        for (const auto& m : p.members)
            if (now - m.last_heard >= ttl) stale.push_back(m.name.str());
        std::erase_if(p.asks, [&](const JoinAsk& a) {
            if (now - a.last_asked < ask_ttl) return false;
            asking_.erase(a.name.str());
            return true;
        });
    }
    std::vector<Departure> gone;
    for (const auto& player : stale)
        if (auto d = leave(player)) gone.push_back(std::move(*d));
    return gone;
}

JoinAsk* Parties::ask(Party& p, std::string_view player, TimePoint now,
                      std::chrono::milliseconds ttl, AskOutcome& outcome) {
    const std::string key(player);
    if (const auto it = asking_.find(key); it != asking_.end() && it->second != &p)
        drop_ask(player);  // a player asks one party at a time
    const auto it = std::find_if(p.asks.begin(), p.asks.end(),
                                 [&](const JoinAsk& a) { return a.name == player; });
    if (it != p.asks.end()) {
        const bool live = now - it->last_asked < ttl;
        it->last_asked = now;
        outcome = live ? AskOutcome::refreshed : AskOutcome::stored;
        if (!live) it->last_notified = now;
        return &*it;
    }
    if (p.asks.size() >= limits_.max_asks) {
        outcome = AskOutcome::full;
        return nullptr;
    }
    p.asks.push_back(JoinAsk{Name(player), now, now});
    asking_[key] = &p;
    outcome = AskOutcome::stored;
    return &p.asks.back();
}

const JoinAsk* Parties::live_ask(const Party& p, std::string_view player, TimePoint now,
                                 std::chrono::milliseconds ttl) const {
    const auto it = std::find_if(p.asks.begin(), p.asks.end(),
                                 [&](const JoinAsk& a) { return a.name == player; });
    return it != p.asks.end() && now - it->last_asked < ttl ? &*it : nullptr;
}

void Parties::drop_ask(std::string_view player) {
    const auto it = asking_.find(std::string(player));
    if (it == asking_.end()) return;
    std::erase_if(it->second->asks, [&](const JoinAsk& a) { return a.name == player; });
    asking_.erase(it);
}

std::uint64_t Parties::token(const Party& p, const PartyMember& a, const PartyMember& b) const {
    // The party's run id and the two serials, smaller first, little-endian: 16 bytes.
    const std::uint32_t lo = std::min(a.serial, b.serial);
    const std::uint32_t hi = std::max(a.serial, b.serial);
    std::array<std::uint8_t, 16> in{};
    for (std::size_t i = 0; i < 8; ++i) in[i] = static_cast<std::uint8_t>(p.id >> (8 * i));
    for (std::size_t i = 0; i < 4; ++i) {
        in[8 + i] = static_cast<std::uint8_t>(lo >> (8 * i));
        in[12 + i] = static_cast<std::uint8_t>(hi >> (8 * i));
    }
    std::array<std::uint8_t, crypto_shorthash_BYTES> hash{};
    crypto_shorthash(hash.data(), in.data(), in.size(), key_.data());
    std::uint64_t token = 0;
    for (std::size_t i = 0; i < hash.size(); ++i) token |= std::uint64_t{hash[i]} << (8 * i);
    return token == 0 ? 1 : token;  // 0 is "no token" to a client
}

}  // namespace rendezvous
