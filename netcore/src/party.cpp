#include "party.hpp"

#include <algorithm>

namespace netcore::detail {

using namespace protocol;

Error PartyClient::join(std::string_view party, PartyOptions options) {
    if (!protocol::valid_name(party) || active()) return Error::invalid_state;
    party_ = Party{};
    party_.name = party;
    party_.admit = options.admit;
    flags_ = options.admit ? PartyFlags::admit : std::uint8_t{0};
    sent_ = false;
    askers_.clear();
    return Error::none;
}

void PartyClient::update(TimePoint now, bool registered, SignalSender& out) {
    if (!active() || !registered) return;
    if (sent_ && now < next_join_) return;
    // The epoch we hold: the server answers with PartyMembers only when its own differs.
    if (!out.send_signal(PartyJoin{out.instance(), party_.name, flags_, party_.epoch})) return;
    sent_ = true;
    ++joins_sent_;
    next_join_ = now + refresh_;
}

void PartyClient::leave(SignalSender& out) {
    if (!active()) return;
    out.send_signal(PartyLeave{out.instance(), party_.name});
    party_ = Party{};
    askers_.clear();
}

Error PartyClient::admit(std::string_view player, SignalSender& out) {
    if (!protocol::valid_name(player) || !party_.joined || !party_.admit || party_.host() != me_)
        return Error::invalid_argument;
    out.send_signal(PartyAdmit{out.instance(), party_.name, player});
    askers_.erase(std::string(player));
    return Error::none;
}

bool PartyClient::is_member(std::string_view name) const {
    return std::find(party_.members.begin(), party_.members.end(), name) != party_.members.end();
}

void PartyClient::on_members(const PartyMembers& m) {
    // Another party's, or older than what we hold (a late or reordered datagram): ignored. Not
    // listed: not ours to act on (the server sends a member list only to its members).
    if (!active() || m.party != party_.name || m.count == 0) return;
    if (party_.joined && m.epoch <= party_.epoch) return;
    const auto listed = m.view();
    if (std::find(listed.begin(), listed.end(), me_) == listed.end()) return;

    const std::vector<std::string> before = party_.members;
    const std::string old_host = party_.host();
    const bool first = !party_.joined;
    party_.members.assign(listed.begin(), listed.end());
    party_.epoch = m.epoch;
    party_.admit = (m.flags & PartyFlags::admit) != 0;
    party_.joined = true;

    if (first) {
        emit(EventType::party_joined, party_.host(),
             "joined the party '" + party_.name + "' (" + std::to_string(party_.members.size()) +
                 " members, host " + party_.host() + ")");
    }
    // What changed since the list we held: several updates may have been lost in between.
    for (const auto& name : party_.members)
        if (name != me_ && std::find(before.begin(), before.end(), name) == before.end())
            emit(EventType::member_joined, name);
    for (const auto& name : before)
        if (name != me_ && !is_member(name)) emit(EventType::member_left, name);
    if (!first && party_.host() != old_host)
        emit(EventType::host_changed, party_.host(),
             party_.host() + " is the host of '" + party_.name + "' now");
}

void PartyClient::on_refused(const PartyRefused& r) {
    if (!active() || r.party != party_.name) return;
    switch (r.code) {
        case PartyRefusedCode::waiting:
            return;  // the host has not admitted us yet: we keep asking
        case PartyRefusedCode::full:
            fail(Error::party_full, "the party '" + party_.name + "' is full");
            return;
        case PartyRefusedCode::server_full:
            fail(Error::party_refused,
                 "the rendezvous holds as many parties as it takes: no room for '" + party_.name +
                     "'");
            return;
        case PartyRefusedCode::other_party:
            fail(Error::party_refused,
                 "the rendezvous has us in another party: cannot join '" + party_.name + "'");
            return;
        case PartyRefusedCode::not_registered:
            fail(Error::party_refused,
                 "the rendezvous does not know our name (yet): cannot join '" + party_.name + "'");
            return;
    }
}

void PartyClient::on_join_asked(const PartyJoinAsked& asked, TimePoint now) {
    if (!party_.joined || asked.party != party_.name || party_.host() != me_) return;
    std::erase_if(askers_, [&](const auto& a) { return now - a.second >= kAskerMemory; });
    const auto known = askers_.find(asked.player);
    if (known != askers_.end()) {
        known->second = now;
        return;
    }
    if (askers_.size() >= kMaxAskers) return;
    askers_.emplace(std::string(asked.player), now);
    emit(EventType::join_requested, std::string(asked.player),
         std::string(asked.player) + " asks to join '" + party_.name + "'");
}

void PartyClient::emit(EventType type, std::string peer, std::string detail) {
    Event e;
    e.type = type;
    e.peer = std::move(peer);
    e.detail = std::move(detail);
    events_.push_back(std::move(e));
}

// The join is over: the error says why, and we are in no party.
void PartyClient::fail(Error error, std::string detail) {
    Event e;
    e.type = EventType::error;
    e.error = error;
    e.detail = std::move(detail);
    events_.push_back(std::move(e));
    party_ = Party{};
    askers_.clear();
}

}  // namespace netcore::detail
