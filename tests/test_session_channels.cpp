// Channels beyond the default two (Config::channels), each delivering as configured, over
// loopback with loss from lossy_send.cpp (linked into this executable).
#include <catch2/catch.hpp>

#include "loopback.hpp"
#include "lossy_send.hpp"

using namespace netcore;
using loopback::bytes;
using loopback::connect_pair;
using loopback::Lab;
using loopback::Node;

namespace {

// What `n` received, as "channel:text" in arrival order.
std::vector<std::string> arrivals(const Node& n) {
    std::vector<std::string> out;
    for (const auto& e : n.events)
        if (e.type == EventType::received)
            out.push_back(std::to_string(static_cast<unsigned>(e.channel)) + ":" +
                          std::string(e.data.begin(), e.data.end()));
    return out;
}

}  // namespace

TEST_CASE(
    "four channels deliver as Config::channels says: a message lost once on the second "
    "reliable channel arrives, one on the unsequenced channel is gone, each on its number",
    "[session][channels]") {
    const std::vector<Delivery> four{Delivery::reliable, Delivery::sequenced, Delivery::reliable,
                                     Delivery::unsequenced};
    const Channel second_reliable{2};
    const Channel unsequenced{3};
    Lab lab;
    auto ca = lab.config("alice");
    ca.channels = four;
    auto cb = lab.config("bob");
    cb.channels = four;
    Node& alice = lab.add(ca);
    Node& bob = lab.add(cb);
    connect_pair(lab, alice, bob);

    {
        // Everything alice sends to bob is dropped until the datagram carrying both is.
        lossy::Loss loss(
            [from = alice.session->local_address().port, to = bob.session->local_address().port](
                std::uint16_t f, std::uint16_t t) { return f == from && t == to; });
        REQUIRE(alice.session->send(second_reliable, bytes("kept")));
        REQUIRE(alice.session->send(unsequenced, bytes("lost")));
        REQUIRE(lab.run_until([&] { return loss.dropped() >= 1; }));
    }
    // ENet sends the reliable one again; the unsequenced one never is.
    REQUIRE(lab.run_until([&] { return !arrivals(bob).empty(); }));
    REQUIRE(alice.session->send(unsequenced, bytes("after")));
    REQUIRE(lab.run_until([&] { return arrivals(bob).size() >= 2; }));
    CHECK(arrivals(bob) == std::vector<std::string>{"2:kept", "3:after"});
    CHECK(to_string(*bob.last(EventType::received)) == "received 5 bytes from alice on channel 3");
}
