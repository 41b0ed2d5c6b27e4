// Parties over loopback (issue 12): a real rendezvous and real sessions, each player on its own
// source address (127.0.0.10, .11, ...) as players behind their own routers are, stepped in one
// thread. docs/PARTIES.md.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "loopback.hpp"

using loopback::bytes;
using loopback::Lab;
using loopback::Node;
using netcore::Error;
using netcore::EventType;
using netcore::PeerId;
using netcore::State;

namespace {

constexpr std::uint32_t kFirstIp = 0x7F00000Au;  // 127.0.0.10

// A player of the party: its own source address, test timings, default consent (mutual: only
// the party's consent lets anyone in).
netcore::Config player(const Lab& lab, int index) {
    netcore::Config c = lab.config("p" + std::to_string(index));
    c.consent = netcore::Consent::mutual;
    c.local_ip = kFirstIp + static_cast<std::uint32_t>(index);
    c.party_refresh = netcore::Duration(200);
    c.max_peers = 15;
    return c;
}

// The names `n` is connected to now, from its peers().
std::set<std::string> connected_names(const Node& n) {
    std::set<std::string> out;
    for (const auto& p : n.session->peers())
        if (p.state == State::connected) out.insert(p.name);
    return out;
}

// True when every node is connected to every other.
bool full_mesh(const std::vector<Node*>& nodes) {
    for (const Node* n : nodes)
        if (connected_names(*n).size() != nodes.size() - 1) return false;
    return true;
}

std::vector<Node*> join(Lab& lab, int count, const std::string& party, int first = 0) {
    std::vector<Node*> nodes;
    for (int i = first; i < first + count; ++i) {
        Node& n = lab.add(player(lab, i));
        REQUIRE(n.session->join_party(party) == Error::none);
        nodes.push_back(&n);
        // Join one after the other, so the join order (and so the host) is known.
        REQUIRE(lab.run_until([&] { return n.session->party().joined; }));
    }
    return nodes;
}

// The sender of each received payload, by the connection its event names.
std::map<std::string, std::string> received_by_sender(const Node& n) {
    std::map<std::string, std::string> out;
    for (const auto& e : n.events)
        if (e.type == EventType::received) out[e.peer] += std::string(e.data.begin(), e.data.end());
    return out;
}

}  // namespace

TEST_CASE(
    "a party of four: every pair connects, each line reaches every other member, and all "
    "agree on the host",
    "[party]") {
    Lab lab;
    const auto nodes = join(lab, 4, "friday");
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(10)));

    for (const Node* n : nodes) {
        CHECK(n->session->party().members == std::vector<std::string>{"p0", "p1", "p2", "p3"});
        CHECK(n->session->party().host() == "p0");
        CHECK(n->count(EventType::party_joined) == 1);
        // One connection per other member, each with its own id.
        std::set<PeerId> ids;
        for (const auto& p : n->session->peers()) {
            ids.insert(p.id);
            CHECK(p.party_member);
            // One machine: the LAN candidate and the public address are the same address.
            CHECK((p.path == netcore::Path::lan || p.path == netcore::Path::direct));
        }
        CHECK(ids.size() == 3);
        CHECK(ids.count(netcore::kNoPeer) == 0);
    }
    // One member_joined per other member: the first saw three join after it, the last was told
    // of the three already in.
    for (const Node* n : nodes) CHECK(n->count(EventType::member_joined) == 3);

    for (Node* n : nodes)
        REQUIRE(n->session->send(netcore::Channel::reliable,
                                 bytes("from " + n->session->config().name)));
    REQUIRE(lab.run_until([&] {
        return std::all_of(nodes.begin(), nodes.end(),
                           [](const Node* n) { return received_by_sender(*n).size() == 3; });
    }));
    for (const Node* n : nodes) {
        for (const auto& [sender, text] : received_by_sender(*n)) CHECK(text == "from " + sender);
        CHECK(received_by_sender(*n).count(n->session->config().name) == 0);
    }

    // send_to reaches one member only.
    const auto p0_peers = nodes[0]->session->peers();
    const auto p2 = std::find_if(p0_peers.begin(), p0_peers.end(),
                                 [](const auto& p) { return p.name == "p2"; });
    const bool found = p2 != p0_peers.end();
    REQUIRE(found);
    REQUIRE(nodes[0]->session->send_to(p2->id, netcore::Channel::reliable, bytes("only p2")));
    REQUIRE(lab.run_until([&] { return received_by_sender(*nodes[2])["p0"] == "from p0only p2"; }));
    // Then a line to all: it follows "only p2" on each reliable channel, so once p1 and p3
    // have it, "only p2" would have reached them before it, had it gone to them.
    REQUIRE(nodes[0]->session->send(netcore::Channel::reliable, bytes(", after")));
    REQUIRE(lab.run_until([&] {
        return received_by_sender(*nodes[1])["p0"].ends_with(", after") &&
               received_by_sender(*nodes[3])["p0"].ends_with(", after");
    }));
    CHECK(received_by_sender(*nodes[1])["p0"] == "from p0, after");
    CHECK(received_by_sender(*nodes[3])["p0"] == "from p0, after");
}

TEST_CASE("a member leaves and rejoins: the others see it go, and it reconnects to all",
          "[party]") {
    Lab lab;
    auto nodes = join(lab, 4, "friday");
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(10)));

    nodes[2]->session->leave_party();
    const std::vector<Node*> rest{nodes[0], nodes[1], nodes[3]};
    REQUIRE(lab.run_until([&] {
        return std::all_of(rest.begin(), rest.end(), [](const Node* n) {
            return n->count(EventType::member_left) == 1 && connected_names(*n).count("p2") == 0;
        });
    }));
    for (const Node* n : rest) {
        CHECK(n->last(EventType::member_left)->peer == "p2");
        CHECK(n->session->party().members == std::vector<std::string>{"p0", "p1", "p3"});
        // A goodbye, not a timeout.
        const auto* gone = n->last(EventType::disconnected);
        REQUIRE(gone != nullptr);
        CHECK(gone->peer == "p2");
        CHECK(gone->error == Error::peer_disconnected);
    }
    CHECK(nodes[2]->session->peers().empty());
    CHECK(nodes[2]->session->party().name.empty());

    REQUIRE(nodes[2]->session->join_party("friday") == Error::none);
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(10)));
    CHECK(nodes[0]->session->party().members == std::vector<std::string>{"p0", "p1", "p3", "p2"});
    CHECK(nodes[0]->session->party().host() == "p0");
}

TEST_CASE("the host leaves: every other member learns the same new host", "[party]") {
    Lab lab;
    auto nodes = join(lab, 4, "friday");
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(10)));

    SECTION("gracefully") {
        nodes[0]->session->leave_party();
    }
    SECTION("by vanishing: the rendezvous stops hearing its refreshes") {
        nodes[0]->frozen = true;
    }
    const std::vector<Node*> rest{nodes[1], nodes[2], nodes[3]};
    REQUIRE(lab.run_until(
        [&] {
            return std::all_of(rest.begin(), rest.end(), [](const Node* n) {
                return n->count(EventType::host_changed) == 1;
            });
        },
        std::chrono::seconds(10)));
    for (const Node* n : rest) {
        CHECK(n->last(EventType::host_changed)->peer == "p1");
        CHECK(n->session->party().host() == "p1");
        CHECK(n->session->party().members == std::vector<std::string>{"p1", "p2", "p3"});
    }
    // The rest of the party plays on.
    for (Node* n : rest) REQUIRE(n->session->send(netcore::Channel::reliable, bytes("after")));
    REQUIRE(lab.run_until([&] {
        return std::all_of(rest.begin(), rest.end(), [](const Node* n) {
            const auto got = received_by_sender(*n);
            return std::count_if(got.begin(), got.end(),
                                 [](const auto& kv) { return kv.second.ends_with("after"); }) == 2;
        });
    }));
}

TEST_CASE("a pair that cannot connect gets its own error, and the rest of the party plays on",
          "[party]") {
    Lab lab;
    auto nodes = join(lab, 3, "friday");
    // p3 takes only relay paths and this rendezvous grants none: none of its pairs can connect.
    netcore::Config c = player(lab, 3);
    c.relay_only = true;
    c.punch_timeout = netcore::Duration(1500);
    Node& cut = lab.add(c);
    REQUIRE(cut.session->join_party("friday") == Error::none);
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(10)));
    REQUIRE(lab.run_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [](const Node* n) {
                                   const auto* e = n->last(EventType::error);
                                   return e != nullptr && e->peer == "p3";
                               }) &&
                   cut.count(EventType::error) >= 3;
        },
        std::chrono::seconds(10)));
    for (const Node* n : nodes) {
        const auto* e = n->last(EventType::error);
        CHECK(e->error == Error::punch_failed);
        CHECK(e->connection != netcore::kNoPeer);
        CHECK_FALSE(e->detail.empty());
        CHECK(connected_names(*n).size() == 2);  // still connected to the other two
    }
    std::set<std::string> failed_with;
    for (const auto& e : cut.events)
        if (e.type == EventType::error && e.connection != netcore::kNoPeer)
            failed_with.insert(e.peer);
    CHECK(failed_with == std::set<std::string>{"p0", "p1", "p2"});
    CHECK(cut.session->party().joined);  // still a member: a game may show who it cannot reach
}

TEST_CASE("a party whose host admits: a joiner waits until admitted, then connects", "[party]") {
    Lab lab;
    Node& host = lab.add(player(lab, 0));
    REQUIRE(host.session->join_party("club", netcore::PartyOptions{.admit = true}) == Error::none);
    REQUIRE(lab.run_until([&] { return host.session->party().joined; }));
    CHECK(host.session->party().admit);

    Node& guest = lab.add(player(lab, 1));
    REQUIRE(guest.session->join_party("club") == Error::none);
    REQUIRE(lab.run_until([&] { return host.count(EventType::join_requested) == 1; }));
    CHECK(host.last(EventType::join_requested)->peer == "p1");
    lab.run_for(std::chrono::milliseconds(300));
    CHECK_FALSE(guest.session->party().joined);  // waiting: no error, no connection
    CHECK(guest.count(EventType::error) == 0);
    CHECK(guest.session->peers().empty());
    CHECK(guest.session->admit("p0") == Error::invalid_state);  // not its host

    REQUIRE(host.session->admit("p1") == Error::none);
    REQUIRE(lab.run_until([&] { return full_mesh({&host, &guest}); }, std::chrono::seconds(10)));
    CHECK(guest.session->party().members == std::vector<std::string>{"p0", "p1"});
}

TEST_CASE("sixteen players in one party: all 120 pairs connect", "[party][sixteen]") {
    rendezvous::Config server;
    Lab lab(server);
    std::vector<Node*> nodes;
    for (int i = 0; i < 16; ++i) {
        Node& n = lab.add(player(lab, i));
        REQUIRE(n.session->join_party("sixteen") == Error::none);
        nodes.push_back(&n);
    }
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }, std::chrono::seconds(30)));
    std::set<std::string> hosts;
    for (const Node* n : nodes) {
        CHECK(n->session->party().members.size() == 16);
        hosts.insert(n->session->party().host());
    }
    CHECK(hosts.size() == 1);
    for (Node* n : nodes)
        REQUIRE(n->session->send(netcore::Channel::reliable, bytes(n->session->config().name)));
    REQUIRE(lab.run_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [](const Node* n) { return received_by_sender(*n).size() == 15; });
        },
        std::chrono::seconds(10)));
}

TEST_CASE("a party of two by name: join_party and connect() by name both still work", "[party]") {
    Lab lab;
    auto nodes = join(lab, 2, "duo");
    REQUIRE(lab.run_until([&] { return full_mesh(nodes); }));
    // The two-player conveniences describe the one connection.
    CHECK(nodes[0]->session->state() == State::connected);
    CHECK(nodes[0]->session->peer_name() == "p1");
    CHECK(nodes[1]->session->peer_name() == "p0");
    // Another player outside the party can still be asked for by name, beside the party.
    netcore::Config c = player(lab, 5);
    c.consent = netcore::Consent::open;
    Node& outsider = lab.add(c);
    REQUIRE(lab.run_until([&] { return outsider.count(EventType::registered) == 1; }));
    REQUIRE(nodes[0]->session->connect("p5", netcore::Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected_names(*nodes[0]).size() == 2; }));
    CHECK(connected_names(*nodes[0]) == std::set<std::string>{"p1", "p5"});
    const auto peers = nodes[0]->session->peers();  // oldest first
    REQUIRE(peers.size() == 2);
    CHECK(peers[0].name == "p1");
    CHECK(peers[0].party_member);
    CHECK(peers[1].name == "p5");
    CHECK_FALSE(peers[1].party_member);
}
