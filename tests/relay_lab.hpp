// What the relay tests on loopback share: a rendezvous that grants TURN relays on a test coturn,
// and whether an address is one of that coturn's relayed addresses.
#pragma once

#include "coturn.hpp"
#include "loopback.hpp"

namespace relay_lab {

/// A rendezvous configuration that grants relays on `coturn` (TURN-REST, its shared secret).
inline rendezvous::Config granting(const coturn_test::Coturn& coturn) {
    rendezvous::Config c;
    c.turn.servers = {coturn.address()};
    c.turn.secret = "netcore-test-secret";  // Coturn's default
    return c;
}

/// `a` is a relayed address of `coturn`: on 127.0.0.1, in its relay port range.
inline bool in_relay_range(const coturn_test::Coturn& coturn, netcore::Address a) {
    return a.ip == 0x7F000001u && a.port >= coturn.relay_min() && a.port <= coturn.relay_max();
}

}  // namespace relay_lab
