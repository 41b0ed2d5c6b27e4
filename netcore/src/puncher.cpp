#include "puncher.hpp"

#include <algorithm>
#include <utility>

namespace netcore::detail {

using namespace protocol;

void Puncher::begin(const Introduction& intro, TimePoint now, bool asked) {
    active_ = true;
    got_through_ = false;
    token_ = intro.token;
    role_ = intro.role;
    peer_ = intro.peer;
    asked_ = asked;
    requester_ = intro.peer_public;
    unheard_budget_ = asked ? 0 : kUnheardProbesPerIntroduction;
    lan_ignored_ = 0;
    candidates_.clear();
    // LAN first: behind one router that does not hairpin it is the only path that works.
    for (const auto& a : intro.peer_lan.view()) {
        if (a == intro.peer_public) continue;
        if (!lan_candidate(a)) {
            ++lan_ignored_;  // a public address posing as a LAN one: a reflection target
            continue;
        }
        add(a, Path::lan);
    }
    add(intro.peer_public, Path::direct);
    started_ = now;
    next_round_ = now;
    sequence_ = 0;
    rtt_.reset();
    probes_sent_ = 0;
    probes_received_ = 0;
}

const Puncher::Candidate* Puncher::find(Address address) const {
    const auto it = std::find_if(candidates_.begin(), candidates_.end(),
                                 [&](const Candidate& c) { return c.address == address; });
    return it == candidates_.end() ? nullptr : &*it;
}

Puncher::Candidate* Puncher::find(Address address) {
    return const_cast<Candidate*>(std::as_const(*this).find(address));
}

void Puncher::add(Address address, Path kind) {
    if (address.empty() || address.port == 0 || find(address) != nullptr) return;
    if (candidates_.size() >= kMaxCandidates) return;
    candidates_.push_back({address, kind, false, false, std::nullopt});
}

void Puncher::reintroduced() {
    if (active_ && !asked_ && !heard_from_peer()) unheard_budget_ += kUnheardProbesPerIntroduction;
}

bool Puncher::may_probe(const Candidate& c, TimePoint now) const {
    if (c.kind == Path::lan && !c.heard && now - started_ >= kLanProbeWindow) return false;
    if (asked_ || heard_from_peer()) return true;
    // Not heard yet, and we did not ask: only the address the server saw the requester at
    // (it proved it receives there), within the budget the Introductions gave.
    return unheard_budget_ > 0 && c.kind == Path::direct && c.address == requester_;
}

void Puncher::update(TimePoint now, Duration interval, Outbox& out, Targets targets) {
    if (!active_ || now < next_round_) return;
    next_round_ = now + interval;
    ++sequence_;
    round_sent_[sequence_ % round_sent_.size()] = now;
    for (const auto& c : candidates_) {
        const bool relay = c.kind == Path::relay;
        if ((targets == Targets::no_relay && relay) || (targets == Targets::relay_only && !relay))
            continue;
        if (!may_probe(c, now)) continue;
        if (!asked_ && !heard_from_peer()) --unheard_budget_;
        out.send(c.address, Probe{token_, sequence_});
        ++probes_sent_;
    }
}

bool Puncher::handle_probe(const Probe& probe, Address from, Outbox& out) {
    if (!active_ || probe.token != token_) return false;
    ++probes_received_;
    // A source we did not know is the peer as its NAT maps it towards us (peer-reflexive):
    // a symmetric NAT picks a port the server never saw.
    add(from, Path::direct);
    if (Candidate* c = find(from)) c->heard = true;
    out.send(from, ProbeAck{token_, probe.sequence, from});
    return true;
}

std::optional<Puncher::Candidate> Puncher::handle_ack(const ProbeAck& ack, Address from,
                                                      TimePoint now) {
    if (!active_ || ack.token != token_) return std::nullopt;
    add(from, Path::direct);
    Candidate* c = find(from);
    if (c == nullptr) return std::nullopt;  // the candidate list is full
    if (ack.sequence != 0 && ack.sequence <= sequence_ &&
        sequence_ - ack.sequence < round_sent_.size()) {
        const auto rtt = std::chrono::duration_cast<Duration>(
            now - round_sent_[ack.sequence % round_sent_.size()]);
        if (!rtt_ || rtt < *rtt_) rtt_ = rtt;
        if (!c->rtt || rtt < *c->rtt) c->rtt = rtt;
    }
    c->heard = true;
    got_through_ = true;
    if (c->acked) return std::nullopt;
    c->acked = true;
    return *c;
}

std::optional<Duration> Puncher::rtt_of(Address address) const {
    const Candidate* c = find(address);
    return c != nullptr && c->rtt ? c->rtt : rtt_;
}

bool Puncher::verified(Address address) const {
    const Candidate* c = find(address);
    return c != nullptr && c->heard;
}

Path Puncher::path_of(Address address) const {
    const Candidate* c = find(address);
    return c == nullptr ? Path::direct : c->kind;
}

bool Puncher::knows(Address address) const {
    return find(address) != nullptr;
}

}  // namespace netcore::detail
