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
    introduced_ = candidates_.size();
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
    candidates_.push_back({address, kind, false, false, std::nullopt, 0, 0, 0});
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
    round(now, out, targets);
}

void Puncher::round(TimePoint now, Outbox& out, Targets targets) {
    if (!active_) return;
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

void Puncher::probe(Address address, TimePoint now, Outbox& out) {
    if (!active_ || find(address) == nullptr) return;
    ++sequence_;
    round_sent_[sequence_ % round_sent_.size()] = now;
    out.send(address, Probe{token_, sequence_});
    ++probes_sent_;
}

// What was sent before the reopening, and acknowledged after it, says nothing about now.
void Puncher::reopen() {
    for (auto& c : candidates_) {
        c.acked = false;
        c.open_after = sequence_;
    }
}

void Puncher::reopen(Address address) {
    if (Candidate* c = find(address)) {
        c->acked = false;
        c->open_after = sequence_;
    }
}

bool Puncher::fresh(const ProbeAck& ack, Address from) const {
    if (ack.sequence == 0 || ack.sequence > sequence_ ||
        sequence_ - ack.sequence >= round_sent_.size())
        return false;
    const Candidate* c = find(from);
    return c == nullptr || ack.sequence > c->ack_sequence;
}

void Puncher::learn(Address address, Address keep) {
    if (address.empty() || address.port == 0 || find(address) != nullptr) return;
    if (candidates_.size() >= kMaxCandidates) {
        // The relay's candidate comes after the introduction's; learned ones after it.
        const auto it = std::find_if(
            candidates_.begin() + static_cast<std::ptrdiff_t>(introduced_), candidates_.end(),
            [&](const Candidate& c) { return c.kind != Path::relay && c.address != keep; });
        if (it == candidates_.end()) return;
        candidates_.erase(it);
    }
    candidates_.push_back({address, Path::direct, false, false, std::nullopt, 0, 0, 0});
}

bool Puncher::handle_probe(const Probe& probe, Address from, Outbox& out) {
    if (!active_ || probe.token != token_) return false;
    if (const Candidate* c = find(from); c != nullptr && probe.sequence <= c->probe_sequence)
        return false;  // answered already
    ++probes_received_;
    // A source we did not know is the peer as its NAT maps it towards us (peer-reflexive):
    // a symmetric NAT picks a port the server never saw.
    add(from, Path::direct);
    if (Candidate* c = find(from)) {
        c->heard = true;
        c->probe_sequence = probe.sequence;
    }
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
    c->ack_sequence = std::max(c->ack_sequence, ack.sequence);
    got_through_ = true;
    if (c->acked || ack.sequence <= c->open_after) return std::nullopt;
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
