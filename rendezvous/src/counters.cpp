// The stats line.
#include "counters.hpp"

namespace rendezvous {

namespace {

void field(std::string& out, const char* key, std::uint64_t value) {
    out += ' ';
    out += key;
    out += '=';
    out += std::to_string(value);
}

}  // namespace

const char* refusal_name(netcore::protocol::PartyRefusedCode code) {
    using netcore::protocol::PartyRefusedCode;
    switch (code) {
        case PartyRefusedCode::full:
            return "full";
        case PartyRefusedCode::server_full:
            return "server_full";
        case PartyRefusedCode::waiting:
            return "waiting";
        case PartyRefusedCode::other_party:
            return "other_party";
        case PartyRefusedCode::not_registered:
            return "not_registered";
    }
    return "?";
}

std::string to_string(const Counters& c) {
    std::string out = "stats:";
    field(out, "names", c.names);
    field(out, "pending", c.pending_introductions);
    field(out, "sources", c.sources);
    field(out, "owned_names", c.owned_names);
    field(out, "pending_requests", c.pending_requests);
    field(out, "parties", c.parties);
    field(out, "party_members", c.party_members);
    field(out, "longest_probe", c.longest_probe);
    field(out, "packets_in", c.packets_in);
    field(out, "bytes_in", c.bytes_in);
    field(out, "packets_out", c.packets_out);
    field(out, "bytes_out", c.bytes_out);
    field(out, "registered", c.registered);
    field(out, "refreshed", c.refreshed);
    field(out, "refreshed_fast", c.refreshed_fast);
    field(out, "name_taken", c.name_taken);
    field(out, "server_full", c.server_full);
    field(out, "not_registered", c.not_registered);
    field(out, "introduced", c.introduced);
    field(out, "reintroduced", c.reintroduced);
    field(out, "peer_unknown", c.peer_unknown);
    field(out, "unregistered", c.unregistered);
    field(out, "released", c.released);
    field(out, "expired", c.expired);
    field(out, "name_owned", c.name_owned);
    field(out, "owner_proofs_invalid", c.owner_proofs_invalid);
    field(out, "reclaimed", c.reclaimed);
    field(out, "owned_expired", c.owned_expired);
    field(out, "names_file_errors", c.names_file_errors);
    // Index 0 is DecodeError::ok, never a drop.
    for (std::size_t i = 1; i < c.dropped.size(); ++i) {
        const std::string key =
            std::string("drop_") +
            netcore::protocol::to_string(static_cast<netcore::protocol::DecodeError>(i));
        field(out, key.c_str(), c.dropped[i]);
    }
    field(out, "drop_unexpected", c.unexpected);
    field(out, "ignored", c.ignored);
    field(out, "unauthenticated", c.unauthenticated);
    field(out, "replayed", c.replayed);
    field(out, "version_refused", c.version_refused);
    field(out, "challenged", c.challenged);
    field(out, "bad_cookies", c.bad_cookies);
    field(out, "rate_limited", c.rate_limited);
    field(out, "answers_limited", c.answers_limited);
    field(out, "amplification_refused", c.amplification_refused);
    field(out, "introductions_full", c.introductions_full);
    field(out, "sources_evicted", c.sources_evicted);
    field(out, "introductions_ip_capped", c.introductions_ip_capped);
    field(out, "requests_stored", c.requests_stored);
    field(out, "introductions_asked", c.introductions_asked);
    field(out, "requests_ip_capped", c.requests_ip_capped);
    field(out, "requests_name_capped", c.requests_name_capped);
    field(out, "requests_full", c.requests_full);
    field(out, "lan_dropped", c.lan_dropped);
    field(out, "relay_grants", c.relay_grants);
    field(out, "relay_grants_refused", c.relay_grants_refused);
    field(out, "relay_renewals", c.relay_renewals);
    field(out, "relay_renew_drop_not_registered", c.relay_renewals_not_registered);
    field(out, "relay_renew_drop_unknown_introduction", c.relay_renewals_unknown_introduction);
    field(out, "relay_renew_drop_token_mismatch", c.relay_renewals_token_mismatch);
    field(out, "relay_offers_forwarded", c.relay_offers_forwarded);
    field(out, "relay_offers_granted", c.relay_offers_granted);
    field(out, "relay_offer_drop_not_registered", c.relay_offers_not_registered);
    field(out, "relay_offer_drop_unknown_introduction", c.relay_offers_unknown_introduction);
    field(out, "relay_offer_drop_token_mismatch", c.relay_offers_token_mismatch);
    field(out, "standing_grants", c.standing_grants);
    field(out, "relay_renew_drop_no_turn", c.relay_renewals_no_turn);
    field(out, "standing_offers_stored", c.standing_offers_stored);
    field(out, "relay_offer_drop_no_standing_grant", c.relay_offers_no_standing_grant);
    field(out, "standing_relays_forwarded", c.standing_relays_forwarded);
    field(out, "parties_created", c.parties_created);
    field(out, "party_joins", c.party_joins);
    field(out, "party_left", c.party_left);
    field(out, "party_expired", c.party_expired);
    field(out, "party_released", c.party_released);
    for (std::size_t i = 1; i < c.party_refused.size(); ++i) {
        const std::string key = std::string("party_refused_") +
                                refusal_name(static_cast<netcore::protocol::PartyRefusedCode>(i));
        field(out, key.c_str(), c.party_refused[i]);
    }
    field(out, "party_join_asked", c.party_join_asked);
    field(out, "party_asks_capped", c.party_asks_capped);
    field(out, "party_admitted", c.party_admitted);
    field(out, "party_admit_ignored", c.party_admit_ignored);
    field(out, "party_members_sent", c.party_members_sent);
    field(out, "stun_requests", c.stun_requests);
    field(out, "stun_malformed", c.stun_malformed);
    field(out, "stun_ignored", c.stun_ignored);
    field(out, "stun_oversized", c.stun_oversized);
    field(out, "receive_errors", c.receive_errors);
    field(out, "send_errors", c.send_errors);
    return out;
}

}  // namespace rendezvous
