// One session, many connections (issue 12): alice connects to bob and then to carol over
// loopback, one socket and one ENet host, each connection with its own id, keys and events.
#include <catch2/catch.hpp>

#include <enet/enet.h>

#include <algorithm>

#include "loopback.hpp"

using namespace netcore;
using namespace loopback;  // Lab, Node, bytes, connected, connect_pair
using namespace std::chrono_literals;

namespace {

// The id of `node`'s connection to `name`, from its connected event (kNoPeer: none).
PeerId id_of(const Node& node, const std::string& name) {
    for (const auto& e : node.events)
        if (e.type == EventType::connected && e.peer == name) return e.connection;
    return kNoPeer;
}

bool peer_connected(const Node& node, const std::string& name) {
    const PeerId id = id_of(node, name);
    const auto info = id == kNoPeer ? std::nullopt : node.session->peer(id);
    return info && info->state == State::connected;
}

// Payloads `node` received from `name`.
std::vector<std::string> received_from(const Node& node, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& e : node.events)
        if (e.type == EventType::received && e.peer == name)
            out.emplace_back(e.data.begin(), e.data.end());
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Alice connected to bob, then to carol.
struct Trio {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    Node& carol = lab.add(lab.config("carol"));

    Trio() {
        connect_pair(lab, alice, bob);
        REQUIRE(lab.run_until([&] { return carol.count(EventType::registered) == 1; }));
        REQUIRE(alice.session->connect("carol", Duration(5000)) == Error::none);
        REQUIRE(lab.run_until([&] { return peer_connected(alice, "carol") && connected(carol); }));
    }
};

}  // namespace

TEST_CASE("a session connects to two peers, one connection each, on one socket", "[peers]") {
    Trio t;
    const PeerId to_bob = id_of(t.alice, "bob");
    const PeerId to_carol = id_of(t.alice, "carol");
    CHECK(to_bob != kNoPeer);
    CHECK(to_carol != kNoPeer);
    CHECK(to_bob != to_carol);
    CHECK(t.alice.session->state() == State::connected);
    CHECK(t.alice.session->peer_name() == "bob");  // the oldest connection's

    const auto peers = t.alice.session->peers();
    REQUIRE(peers.size() == 2);
    CHECK(peers[0].id == to_bob);
    CHECK(peers[0].name == "bob");
    CHECK(peers[0].address == Address{0x7F000001u, t.bob.session->local_address().port});
    CHECK(peers[1].id == to_carol);
    CHECK(peers[1].name == "carol");
    CHECK(peers[1].address == Address{0x7F000001u, t.carol.session->local_address().port});
    for (const auto& p : peers) {
        CHECK(p.state == State::connected);
        CHECK(p.path == Path::direct);
        CHECK(p.punch_elapsed > Duration{0});
    }
    // Each introduced event names its connection, and it is the one that connected.
    for (const auto& e : t.alice.events)
        if (e.type == EventType::introduced) CHECK((e.connection == to_bob) != (e.peer == "carol"));
    CHECK_FALSE(t.alice.session->peer(to_carol + 100));
    // A peer we have a connection to cannot be asked for again.
    CHECK(t.alice.session->connect("bob", Duration(1000)) == Error::invalid_state);
}

TEST_CASE("send_to reaches one peer, send reaches every peer, and receipts name the sender",
          "[peers]") {
    Trio t;
    const PeerId to_bob = id_of(t.alice, "bob");
    const PeerId to_carol = id_of(t.alice, "carol");
    REQUIRE(t.alice.session->send_to(to_bob, Channel::reliable, bytes("for bob")));
    REQUIRE(t.alice.session->send_to(to_carol, Channel::reliable, bytes("for carol")));
    REQUIRE(t.alice.session->send(Channel::reliable, bytes("for all")));
    REQUIRE(t.bob.session->send(Channel::reliable, bytes("from bob")));
    REQUIRE(t.carol.session->send(Channel::reliable, bytes("from carol")));
    CHECK_FALSE(t.alice.session->send_to(to_carol + 100, Channel::reliable, bytes("nobody")));
    // Each sends "end" last, to all: once every "end" is in, whatever was sent before it on
    // the reliable channel is in too.
    for (Node* n : {&t.alice, &t.bob, &t.carol})
        REQUIRE(n->session->send(Channel::reliable, bytes("end")));
    REQUIRE(t.lab.run_until([&] {
        return has(t.bob.received(), "end") && has(t.carol.received(), "end") &&
               has(received_from(t.alice, "bob"), "end") &&
               has(received_from(t.alice, "carol"), "end");
    }));
    CHECK(t.bob.received() == std::vector<std::string>{"for bob", "for all", "end"});
    CHECK(t.carol.received() == std::vector<std::string>{"for carol", "for all", "end"});
    CHECK(received_from(t.alice, "bob") == std::vector<std::string>{"from bob", "end"});
    CHECK(received_from(t.alice, "carol") == std::vector<std::string>{"from carol", "end"});
    for (const auto& e : t.alice.events)
        if (e.type == EventType::received)
            CHECK(e.connection == (e.peer == "bob" ? to_bob : to_carol));
}

TEST_CASE("disconnect(id) ends one connection and the other keeps exchanging", "[peers]") {
    Trio t;
    const PeerId to_bob = id_of(t.alice, "bob");
    const PeerId to_carol = id_of(t.alice, "carol");
    t.alice.session->disconnect(to_bob);
    REQUIRE(t.lab.run_until([&] {
        return t.alice.count(EventType::disconnected) == 1 &&
               t.bob.count(EventType::disconnected) == 1;
    }));
    const Event* mine = t.alice.last(EventType::disconnected);
    CHECK(mine->connection == to_bob);
    CHECK(mine->peer == "bob");
    CHECK(mine->error == Error::none);
    CHECK(t.bob.last(EventType::disconnected)->error == Error::peer_disconnected);
    CHECK_FALSE(t.alice.session->peer(to_bob));
    REQUIRE(t.alice.session->peers().size() == 1);
    CHECK(t.alice.session->state() == State::connected);
    CHECK(t.alice.session->peer_name() == "carol");

    REQUIRE(t.alice.session->send(Channel::reliable, bytes("still here")));
    REQUIRE(t.carol.session->send(Channel::reliable, bytes("me too")));
    REQUIRE(t.lab.run_until([&] {
        return has(t.carol.received(), "still here") &&
               has(received_from(t.alice, "carol"), "me too");
    }));
    CHECK_FALSE(has(t.bob.received(), "still here"));
    CHECK(t.alice.session->peer(to_carol)->state == State::connected);
    CHECK(t.carol.count(EventType::disconnected) == 0);
}

TEST_CASE("a peer that vanished ends its own connection with an error, the other carries on",
          "[peers]") {
    Trio t;
    const PeerId to_bob = id_of(t.alice, "bob");
    t.bob.frozen = true;  // its path broke: nothing more from it
    REQUIRE(t.lab.run_until([&] { return t.alice.count(EventType::disconnected) == 1; }, 5000ms));
    const Event* lost = t.alice.last(EventType::disconnected);
    CHECK(lost->connection == to_bob);
    CHECK(lost->error == Error::peer_timed_out);
    REQUIRE(t.alice.session->peers().size() == 1);
    CHECK(t.alice.session->state() == State::connected);
    REQUIRE(t.alice.session->send(Channel::reliable, bytes("after bob")));
    REQUIRE(t.lab.run_until([&] { return has(t.carol.received(), "after bob"); }));

    SECTION("and a punch to a peer that never answers fails on its own") {
        Node& dave = t.lab.add(t.lab.config("dave"));
        REQUIRE(t.lab.run_until([&] { return dave.count(EventType::registered) == 1; }));
        dave.frozen = true;
        REQUIRE(t.alice.session->connect("dave", Duration(5000)) == Error::none);
        REQUIRE(t.lab.run_until([&] { return t.alice.count(EventType::error) == 1; }, 6000ms));
        const Event* failed = t.alice.last(EventType::error);
        CHECK(failed->error == Error::punch_failed);
        CHECK(failed->peer == "dave");
        CHECK(failed->connection != kNoPeer);
        CHECK(failed->connection != id_of(t.alice, "carol"));
        CHECK(t.alice.session->peers().size() == 1);
        REQUIRE(t.carol.session->send(Channel::reliable, bytes("after dave")));
        REQUIRE(
            t.lab.run_until([&] { return has(received_from(t.alice, "carol"), "after dave"); }));
    }
}

TEST_CASE("a stranger's ENet CONNECT is refused while the session holds connections", "[peers]") {
    Trio t;
    ENetAddress any{};
    any.host = ENET_HOST_TO_NET_32(0x7F000001u);
    ENetHost* stranger = enet_host_create(&any, 1, 2, 0, 0);
    REQUIRE(stranger != nullptr);
    ENetAddress to{};
    to.host = ENET_HOST_TO_NET_32(0x7F000001u);
    to.port = t.alice.session->local_address().port;
    ENetPeer* peer = enet_host_connect(stranger, &to, 2, 0);
    REQUIRE(peer != nullptr);
    const auto before = t.alice.session->stats().unauthenticated;
    bool stranger_connected = false;
    t.lab.each_step.push_back([&] {
        ENetEvent e;
        while (enet_host_service(stranger, &e, 0) > 0)
            stranger_connected = stranger_connected || e.type == ENET_EVENT_TYPE_CONNECT;
    });
    REQUIRE(
        t.lab.run_until([&] { return t.alice.session->stats().unauthenticated >= before + 2; }));
    t.lab.run_for(300ms);
    CHECK_FALSE(stranger_connected);
    CHECK(t.alice.session->peers().size() == 2);
    REQUIRE(t.alice.session->send(Channel::reliable, bytes("unbothered")));
    REQUIRE(t.lab.run_until([&] {
        return has(t.bob.received(), "unbothered") && has(t.carol.received(), "unbothered");
    }));
    t.lab.each_step.clear();
    enet_host_destroy(stranger);
}

TEST_CASE("a session holds at most Config::max_peers connections", "[peers]") {
    Lab lab;
    Config one = lab.config("alice");
    one.max_peers = 1;
    Node& alice = lab.add(one);
    Node& bob = lab.add(lab.config("bob"));
    Node& carol = lab.add(lab.config("carol"));
    connect_pair(lab, alice, bob);
    REQUIRE(lab.run_until([&] { return carol.count(EventType::registered) == 1; }));
    CHECK(alice.session->connect("carol", Duration(1000)) == Error::invalid_state);
    // Asked for by another (alice is an open host here): the introduction is dropped, counted.
    const auto dropped = alice.session->stats().datagrams_dropped;
    REQUIRE(carol.session->connect("alice", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return carol.count(EventType::introduced) == 1; }));
    REQUIRE(lab.run_until([&] { return alice.session->stats().datagrams_dropped > dropped; }));
    CHECK(alice.count(EventType::introduced) == 1);
    CHECK(alice.session->peers().size() == 1);
}
