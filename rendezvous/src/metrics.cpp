// The Prometheus exporter: one family per counter, named rendezvous_<counter>[_total].
#include "metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <exception>
#include <utility>
#include <vector>

namespace rendezvous {

namespace {

// One thread answers scrapes: Prometheus scrapes every few seconds, never concurrently.
constexpr std::size_t kScrapeThreads = 1;

// A monotonic total exported as a Prometheus counter. prometheus-cpp counters only increment,
// so publish() adds the difference since the last call.
struct Total {
    prometheus::Counter* counter = nullptr;
    std::uint64_t published = 0;

    void set(std::uint64_t value) {
        if (value > published) counter->Increment(static_cast<double>(value - published));
        published = value;
    }
};

}  // namespace

struct Metrics::State {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<prometheus::Exposer> exposer;

    prometheus::Gauge* names = nullptr;
    prometheus::Gauge* owned_names = nullptr;
    prometheus::Gauge* pending = nullptr;
    prometheus::Gauge* requests = nullptr;
    prometheus::Gauge* parties = nullptr;
    prometheus::Gauge* party_members = nullptr;
    prometheus::Gauge* longest_probe = nullptr;
    std::vector<Total> party_refused;  // by PartyRefusedCode; index 0 unused
    std::vector<std::pair<std::uint64_t Counters::*, Total>> totals;
    std::vector<Total> dropped;  // by DecodeError; index 0 unused
    std::vector<std::pair<std::uint64_t Counters::*, Total>> labelled;  // one family's members

    prometheus::Gauge& gauge(const std::string& name, const std::string& help) {
        return prometheus::BuildGauge().Name(name).Help(help).Register(*registry).Add({});
    }
    prometheus::Counter& counter(const std::string& name, const std::string& help,
                                 const prometheus::Labels& labels = {}) {
        return prometheus::BuildCounter().Name(name).Help(help).Register(*registry).Add(labels);
    }
    void total(std::uint64_t Counters::*field, const std::string& name, const std::string& help) {
        totals.emplace_back(field, Total{&counter("rendezvous_" + name + "_total", help)});
    }
};

Metrics::Metrics() : state_(std::make_unique<State>()) {
    auto& s = *state_;
    s.names = &s.gauge("rendezvous_names", "Names in the table (expired ones until swept)");
    s.owned_names = &s.gauge("rendezvous_owned_names", "Names bound to an owner key");
    s.longest_probe = &s.gauge("rendezvous_name_table_longest_probe",
                               "Slots the name table's longest lookup reads (a few; a flood of "
                               "names crafted to collide would raise it)");
    s.pending = &s.gauge("rendezvous_pending_introductions",
                         "Introductions remembered: token reused for 10 s, relay offers for 30 s");
    s.requests =
        &s.gauge("rendezvous_pending_requests", "Requests waiting for the asked player's consent");
    s.total(&Counters::packets_in, "packets_in", "Datagrams handled");
    s.total(&Counters::bytes_in, "bytes_in", "Bytes of the datagrams handled");
    s.total(&Counters::packets_out, "packets_out", "Datagrams sent");
    s.total(&Counters::bytes_out, "bytes_out", "Bytes of the datagrams sent");
    s.total(&Counters::registered, "registered", "New names, and names that moved address");
    s.total(&Counters::refreshed, "refreshed", "Registers from the same instance and address");
    s.total(&Counters::refreshed_fast, "refreshed_fast",
            "Of those, carrying the cookie last proved for the name: no MAC computed");
    s.total(&Counters::name_taken, "name_taken", "RegisterError name_taken sent");
    s.total(&Counters::server_full, "server_full", "RegisterError server_full sent");
    s.total(&Counters::not_registered, "not_registered", "RegisterError not_registered sent");
    s.total(&Counters::introduced, "introduced", "New pairings (a fresh token)");
    s.total(&Counters::reintroduced, "reintroduced", "Pending pairings sent again");
    s.total(&Counters::peer_unknown, "peer_unknown", "PeerUnknown sent");
    s.total(&Counters::unregistered, "unregistered", "Names removed by Unregister");
    s.total(&Counters::released, "released", "Names dropped by a rename or a new run");
    s.total(&Counters::expired, "expired", "Names dropped for want of a refresh");
    s.total(&Counters::name_owned, "name_owned",
            "RegisterError name_owned sent: the name is bound to another owner key");
    s.total(&Counters::owner_proofs_invalid, "owner_proofs_invalid",
            "Of those, the owner proof did not verify");
    s.total(&Counters::reclaimed, "reclaimed",
            "Live entries released for a new run of their name's owner");
    s.total(&Counters::owned_expired, "owned_expired",
            "Owned names dropped --name-hold after their owner was last seen");
    s.total(&Counters::names_file_errors, "names_file_errors", "Failed writes of --names-file");
    s.total(&Counters::unexpected, "unexpected", "Valid messages a server never receives");
    s.total(&Counters::ignored, "ignored", "Valid requests with no effect");
    s.total(&Counters::unauthenticated, "unauthenticated",
            "Sealed signals that did not open (forged, damaged, or under another key)");
    s.total(&Counters::replayed, "replayed", "Sealed signals that opened but were seen already");
    s.total(&Counters::version_refused, "version_refused",
            "Datagrams of an older wire version, answered with VersionRefused");
    s.total(&Counters::challenged, "challenged",
            "Challenges sent: Hellos, and sealed signals without a valid cookie");
    s.total(&Counters::bad_cookies, "bad_cookies", "Sealed signals with a stale or forged cookie");
    s.total(&Counters::rate_limited, "rate_limited", "Datagrams dropped by the per-IP rate limit");
    s.total(&Counters::answers_limited, "answers_limited",
            "Answers larger than their request dropped by the per-IP cap");
    s.total(&Counters::amplification_refused, "amplification_refused",
            "Larger answers to an unproven source refused (a bug if not 0)");
    s.total(&Counters::introductions_full, "introductions_full",
            "IntroduceRequests dropped at --max-introductions");
    s.total(&Counters::sources_evicted, "sources_evicted", "Source IPs the rate limiter forgot");
    s.total(&Counters::introductions_ip_capped, "introductions_ip_capped",
            "IntroduceRequests dropped at --max-introductions-per-ip");
    s.total(&Counters::requests_stored, "requests_stored",
            "Requests stored to wait for the asked player's consent");
    s.total(&Counters::introductions_asked, "introductions_asked",
            "IntroductionAsked sent to the asked player");
    s.total(&Counters::requests_ip_capped, "requests_ip_capped",
            "Requests not stored: --max-requests-per-ip (answered as an unknown name)");
    s.total(&Counters::requests_name_capped, "requests_name_capped",
            "Requests not stored: --max-requests-per-name (answered as an unknown name)");
    s.total(&Counters::requests_full, "requests_full",
            "Requests not stored: --max-requests (answered as an unknown name)");
    s.total(&Counters::lan_dropped, "lan_dropped",
            "LAN candidates outside the private, shared, link-local and loopback ranges dropped");
    s.total(&Counters::relay_grants, "relay_grants",
            "TURN credentials issued in Introductions (one per side of an introduction)");
    s.total(&Counters::relay_grants_refused, "relay_grants_refused",
            "TURN credentials and renewals refused by the per-IP or per-name grant limit");
    s.total(&Counters::relay_renewals, "relay_renewals",
            "RelayRenews answered with fresh TURN credentials");
    s.total(&Counters::relay_offers_forwarded, "relay_offers_forwarded",
            "RelayOffers forwarded to the other side of their introduction as PeerRelay");
    s.total(&Counters::relay_offers_granted, "relay_offers_granted",
            "Of those, re-offers past the introduction's window, on the pair's grant record");
    s.total(&Counters::standing_grants, "standing_grants",
            "Standing relay credentials issued (RelayRenew with token 0), renewals included");
    s.total(&Counters::standing_offers_stored, "standing_offers_stored",
            "Standing relay offers stored (RelayOffer with token 0)");
    s.total(&Counters::standing_relays_forwarded, "standing_relays_forwarded",
            "PeerRelays of a standing relay sent right after an Introduction");
    s.parties = &s.gauge("rendezvous_parties", "Parties with at least one member");
    s.party_members = &s.gauge("rendezvous_party_members", "Players in a party");
    s.total(&Counters::parties_created, "parties_created", "PartyJoins that created a party");
    s.total(&Counters::party_joins, "party_joins", "Players who joined a party that existed");
    s.total(&Counters::party_left, "party_left", "Party members gone by PartyLeave");
    s.total(&Counters::party_expired, "party_expired",
            "Party members dropped: no PartyJoin for --party-ttl-ms");
    s.total(&Counters::party_released, "party_released",
            "Party members dropped: their name left or changed hands");
    s.total(&Counters::party_join_asked, "party_join_asked",
            "PartyJoinAsked sent to the host of a party that admits");
    s.total(&Counters::party_asks_capped, "party_asks_capped",
            "Join asks not stored: --max-party-asks");
    s.total(&Counters::party_admitted, "party_admitted", "Players let in by their party's host");
    s.total(&Counters::party_admit_ignored, "party_admit_ignored",
            "PartyAdmits dropped: not from the host, or no live ask");
    s.total(&Counters::party_members_sent, "party_members_sent", "PartyMembers sent");
    s.total(&Counters::stun_requests, "stun_requests", "STUN Binding requests answered");
    s.total(&Counters::stun_malformed, "stun_malformed", "Malformed STUN datagrams dropped");
    s.total(&Counters::stun_ignored, "stun_ignored", "Valid STUN not answered");
    s.total(&Counters::stun_oversized, "stun_oversized",
            "STUN requests over 548 bytes dropped before parsing");
    s.total(&Counters::receive_errors, "receive_errors", "Socket receive errors");
    s.total(&Counters::send_errors, "send_errors", "Socket send errors");
    // One family, labelled by reason, as PromQL sums and filters labels more easily than names.
    auto& family = prometheus::BuildCounter()
                       .Name("rendezvous_dropped_total")
                       .Help("Malformed datagrams dropped unanswered, by reason")
                       .Register(*s.registry);
    s.dropped.resize(netcore::protocol::kDecodeErrorCount);
    for (std::size_t i = 1; i < s.dropped.size(); ++i) {
        const auto reason = static_cast<netcore::protocol::DecodeError>(i);
        s.dropped[i].counter = &family.Add({{"reason", netcore::protocol::to_string(reason)}});
    }
    auto& refused = prometheus::BuildCounter()
                        .Name("rendezvous_party_refused_total")
                        .Help("PartyRefused sent, by reason")
                        .Register(*s.registry);
    s.party_refused.resize(Counters{}.party_refused.size());
    for (std::size_t i = 1; i < s.party_refused.size(); ++i) {
        const auto code = static_cast<netcore::protocol::PartyRefusedCode>(i);
        s.party_refused[i].counter = &refused.Add({{"reason", refusal_name(code)}});
    }
    auto& offers = prometheus::BuildCounter()
                       .Name("rendezvous_relay_offers_dropped_total")
                       .Help("RelayOffers not forwarded, by reason")
                       .Register(*s.registry);
    for (const auto& [field, reason] :
         {std::pair{&Counters::relay_offers_not_registered, "not_registered"},
          std::pair{&Counters::relay_offers_unknown_introduction, "unknown_introduction"},
          std::pair{&Counters::relay_offers_token_mismatch, "token_mismatch"},
          std::pair{&Counters::relay_offers_no_standing_grant, "no_standing_grant"}}) {
        s.labelled.emplace_back(field, Total{&offers.Add({{"reason", reason}})});
    }
    auto& renewals =
        prometheus::BuildCounter()
            .Name("rendezvous_relay_renewals_dropped_total")
            .Help("RelayRenews not answered, by reason (the limit: relay_grants_refused)")
            .Register(*s.registry);
    for (const auto& [field, reason] :
         {std::pair{&Counters::relay_renewals_not_registered, "not_registered"},
          std::pair{&Counters::relay_renewals_unknown_introduction, "unknown_introduction"},
          std::pair{&Counters::relay_renewals_token_mismatch, "token_mismatch"},
          std::pair{&Counters::relay_renewals_no_turn, "no_turn"}}) {
        s.labelled.emplace_back(field, Total{&renewals.Add({{"reason", reason}})});
    }
}

Metrics::~Metrics() = default;

std::string Metrics::open(const std::string& bind, std::uint16_t port) {
    const std::string address = bind + ":" + std::to_string(port);
    try {
        state_->exposer = std::make_unique<prometheus::Exposer>(address, kScrapeThreads);
    } catch (const std::exception& e) {
        return "cannot serve metrics on " + address + ": " + e.what();
    }
    state_->exposer->RegisterCollectable(state_->registry);
    return {};
}

std::uint16_t Metrics::port() const {
    if (!state_->exposer) return 0;
    const auto ports = state_->exposer->GetListeningPorts();
    return ports.empty() ? std::uint16_t{0} : static_cast<std::uint16_t>(ports.front());
}

void Metrics::publish(const Counters& c) {
    auto& s = *state_;
    s.names->Set(static_cast<double>(c.names));
    s.pending->Set(static_cast<double>(c.pending_introductions));
    s.owned_names->Set(static_cast<double>(c.owned_names));
    s.requests->Set(static_cast<double>(c.pending_requests));
    s.parties->Set(static_cast<double>(c.parties));
    s.party_members->Set(static_cast<double>(c.party_members));
    s.longest_probe->Set(static_cast<double>(c.longest_probe));
    for (std::size_t i = 1; i < s.party_refused.size(); ++i)
        s.party_refused[i].set(c.party_refused[i]);
    for (auto& [field, total] : s.totals) total.set(c.*field);
    for (auto& [field, total] : s.labelled) total.set(c.*field);
    for (std::size_t i = 1; i < s.dropped.size(); ++i) s.dropped[i].set(c.dropped[i]);
}

}  // namespace rendezvous
